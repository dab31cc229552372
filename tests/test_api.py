"""The public surface: one sorted `__all__`, every name documented, typed package."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import together_billing

ROOT = Path(__file__).resolve().parent.parent


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions and the rest."""
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_and_unique() -> None:
    """`__all__` is sorted (constants, classes, then the rest) and has no duplicates."""
    names = together_billing.__all__
    assert len(names) == len(set(names))
    assert list(names) == sorted(names, key=_isort_key)


def test_all_names_exist() -> None:
    """Every name in `__all__` is importable from the package."""
    for name in together_billing.__all__:
        assert hasattr(together_billing, name), name


def test_every_public_name_is_in_all() -> None:
    """No public object is importable from the package without being in `__all__`."""
    public = {
        name
        for name, value in vars(together_billing).items()
        if not name.startswith("_") and not isinstance(value, type(importlib))
    }
    public.discard("annotations")
    assert public <= set(together_billing.__all__)


def test_api_page_names_every_public_name() -> None:
    """docs/api.md mentions every name in `__all__` (in backticks)."""
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in together_billing.__all__ if f"`{name}" not in page]
    assert not missing, f"docs/api.md does not document {missing}"


def test_package_is_typed() -> None:
    """The package ships `py.typed` so type checkers use its inline annotations."""
    assert (Path(together_billing.__file__).parent / "py.typed").exists()


def test_modules_have_their_own_all() -> None:
    """Each concept module declares `__all__` naming only what it defines or re-exports."""
    for module_name in (
        "money",
        "time",
        "catalog",
        "resources",
        "timeline",
        "policies",
        "engine",
        "invoice",
        "scenario",
        "cli",
        "errors",
        "forecast",
        "explain",
        "compare",
        "focus",
        "plot",
        "columnar",
        "accounts",
        "credits",
        "testing",
        "strategies",
    ):
        module = importlib.import_module(f"together_billing.{module_name}")
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name}"


def _defining_modules() -> dict[str, list[str]]:
    """Each public name, and the package's `_MODULES` whose own `__all__` has it."""
    found: dict[str, list[str]] = {name: [] for name in together_billing.__all__}
    for module_name in together_billing._MODULES:
        module = importlib.import_module(f"together_billing.{module_name}")
        for name in module.__all__:
            if name in found:
                found[name].append(module_name)
    return found


def test_every_public_name_is_imported_from_the_module_that_defines_it() -> None:
    """`__all__` is the one list: the lazy lookup finds each name in exactly one module's own
    `__all__`, and gives that very object."""
    found = _defining_modules()
    assert found.pop("__version__") == []
    assert {name: modules for name, modules in found.items() if len(modules) != 1} == {}
    for name, (module,) in found.items():
        defined = getattr(importlib.import_module(f"together_billing.{module}"), name)
        assert getattr(together_billing, name) is defined, name


def test_the_type_checking_imports_match_all() -> None:
    """What type checkers see (the `TYPE_CHECKING` imports) is what runs: the names of
    `__all__`, each from the module the lazy lookup finds it in."""
    tree = ast.parse(Path(together_billing.__file__).read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    seen = {
        alias.name: node.module.removeprefix("together_billing.")
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    found = _defining_modules()
    del found["__version__"]
    assert seen == {name: modules[0] for name, modules in found.items()}


def test_the_lookup_modules_come_after_what_they_import() -> None:
    """`_MODULES` is in import order, so finding a name imports nothing its module would not
    (bar lighter modules before it); the catalog and its pydantic come late, the engine last."""
    order = together_billing._MODULES
    assert order[-1] == "engine"
    for index, module_name in enumerate(order):
        source = Path(together_billing.__file__).with_name(f"{module_name}.py").read_text("utf-8")
        imported = {
            node.module.removeprefix("together_billing.")
            for node in ast.parse(source).body
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("together_")
        }
        later = imported & set(order[index + 1 :])
        assert not later, f"{module_name} imports {later}, listed after it"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="'Nope'"):
        _ = together_billing.Nope  # type: ignore[attr-defined]


def test_importing_the_package_or_its_pytest_plugin_loads_nothing_heavy() -> None:
    """The pytest plugin loads in every test session of a project that installs us: it and the
    package import neither the engine nor pydantic, pendulum or attrs until they are used."""
    heavy = ["together_billing.engine", "together_billing.catalog", "pydantic", "pendulum", "attrs"]
    code = (
        "import sys, together_billing, together_billing.pytest_plugin; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
