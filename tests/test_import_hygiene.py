"""No reach-ins: modules use each other's public names only (#12).

Outside the engine (``engine.py`` and its private package ``_engine/``), no module of the
library imports a ``_private`` name of another of its modules or reads one through a
module (``engine._time_accruals``), and nothing, in the library or its tests, reads the
replay state's private ``_core``: what a module needs is a public, documented view.
Private *modules* (``_choice``, ``_text``...) are the package's machinery and may be
imported; it is the names inside modules that are private.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "together_billing"
#: The engine may use its own private machinery.
ENGINE = {PACKAGE / "engine.py", *(PACKAGE / "_engine").rglob("*.py")}
LIBRARY = sorted(path for path in PACKAGE.rglob("*.py") if path not in ENGINE)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    """Whether ``name`` (dotted) is a module or package of the library, by its file."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an import takes names from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _reach_ins(path: Path, source: str | None = None) -> Iterator[str]:
    """Private names of the library's other modules that the module at ``path`` (or
    ``source``, as if it were there) imports or reads through a module."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text)
    modules: set[str] = set()  # local names bound to modules of the library
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("together_billing"):
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(path, node)
            if not source.startswith("together_billing"):
                continue
            for alias in node.names:
                if _is_module(f"{source}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
                elif alias.name.startswith("_"):
                    yield f"line {node.lineno}: from {source} import {alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            yield f"line {node.lineno}: {ast.unparse(node)}"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_private_name_of_another(path: Path) -> None:
    assert list(_reach_ins(path)) == []


def _core_reads(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "_core":
                yield f"{path.name}:{node.lineno}"


def test_nothing_outside_the_engine_reads_the_replay_state_core() -> None:
    """The library and its tests read a replay through `SimulationResult` and
    `SimulationState`, never through their private state."""
    tests = sorted((ROOT / "tests").rglob("*.py"))
    assert list(_core_reads([*LIBRARY, *tests])) == []


def test_the_checks_catch_a_reach_in(tmp_path: Path) -> None:
    """The checks are not vacuous: a private import, reads through a module (a relative
    import too) and a read of ``_core`` are found; private modules and public names pass."""
    source = (
        "from together_billing.engine import SimulationResult, _time_accruals\n"
        "from together_billing import engine, _choice\n"
        "from . import money\n"
        "x = engine._Core\n"
        "y = money._plain\n"
        "z = _choice.Choice\n"
        "w = result.state._core\n"
    )
    found = list(_reach_ins(PACKAGE / "explain.py", source))
    assert found == [
        "line 1: from together_billing.engine import _time_accruals",
        "line 4: engine._Core",
        "line 5: money._plain",
    ]
    fake = tmp_path / "fake.py"
    fake.write_text(source, encoding="utf-8")
    assert list(_core_reads([fake])) == ["fake.py:7"]
