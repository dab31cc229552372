"""The engine's rooms keep to their rules (``together_billing/_engine/__init__.py``).

Imports are read from the source with :mod:`ast`, so every import counts: at the top,
under ``TYPE_CHECKING`` and inside functions.

- No family room (serverless, finetuning, deployments, clusters, storage) imports another.
- The credit rooms (credits, alerts, crossing) import no family: credits ask the families
  through the ``Family`` protocol.
- The common rooms (metering, invoicing, context, vocabulary) import no family and not
  credits.
- Nothing in ``src/`` but ``engine.py`` and ``_engine`` imports ``_engine``; nothing in
  ``tests/`` does but the tests of the rooms themselves (``ROOM_TESTS``).
- No room is over ``MAX_LINES`` lines; every resource type is billed by exactly one family.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from together_billing import resources
from together_billing._engine.fold import FAMILIES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "together_billing"
ENGINE = PACKAGE / "_engine"
PRIVATE = "together_billing._engine"

FAMILY_ROOMS = ("serverless", "finetuning", "deployments", "clusters", "storage")
CREDIT_ROOMS = ("credits", "draws", "alerts", "crossing")
COMMON_ROOMS = ("metering", "invoicing", "context", "vocabulary")
#: The tests that test the rooms themselves, and may import them.
ROOM_TESTS = frozenset({"test_engine_rooms.py"})
#: "A few hundred lines": the largest rooms (clusters, credits) are about 600.
MAX_LINES = 650


def imports(path: Path, *, as_path: Path | None = None) -> set[str]:
    """Every module ``path`` imports, wherever the import is (``from a import b`` counts as
    ``a`` and ``a.b``); relative imports are read as from ``as_path`` (default ``path``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = as_path or path
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = where.relative_to(PACKAGE.parent).with_suffix("").parts
                base = ".".join(parts[: len(parts) - node.level])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def rooms_imported(path: Path) -> set[str]:
    """The rooms of ``_engine`` that ``path`` imports (``from _engine import metering``
    included)."""
    return {
        name.removeprefix(PRIVATE + ".").split(".")[0]
        for name in imports(path)
        if name.startswith(PRIVATE + ".")
    }


def room(name: str) -> Path:
    return ENGINE / f"{name}.py"


def test_the_room_map_is_the_package() -> None:
    """Every module of ``_engine`` is one of the rooms these rules know, and the reverse."""
    known = {*FAMILY_ROOMS, *CREDIT_ROOMS, *COMMON_ROOMS, "fold", "__init__"}
    assert {path.stem for path in ENGINE.glob("*.py")} == known


def test_the_import_reader_sees_every_kind_of_import() -> None:
    """Top-level, ``TYPE_CHECKING``, in-function and ``from _engine import room`` imports are
    all seen (a room rule read only from the top would miss them): the rooms' own imports
    are of each kind."""
    assert "metering" in rooms_imported(room("deployments"))  # from _engine import metering
    assert "credits" in rooms_imported(room("alerts"))  # under TYPE_CHECKING
    assert "invoicing" in rooms_imported(room("metering"))  # under TYPE_CHECKING


def test_relative_and_in_function_imports_count(tmp_path: Path) -> None:
    probe = PACKAGE / "_engine" / "probe.py"
    source = (
        "def f():\n"
        "    import together_billing._engine.storage\n"
        "from .clusters import Clusters\n"
        "from . import credits\n"
    )
    copy = tmp_path / "probe.py"
    copy.write_text(source)
    found = imports(copy, as_path=probe)
    assert {
        "together_billing._engine.storage",
        "together_billing._engine.clusters",
        "together_billing._engine.credits",
    } <= found


@pytest.mark.parametrize("name", FAMILY_ROOMS)
def test_no_family_imports_another(name: str) -> None:
    others = set(FAMILY_ROOMS) - {name}
    assert not rooms_imported(room(name)) & others


@pytest.mark.parametrize("name", CREDIT_ROOMS)
def test_the_credit_rooms_import_no_family(name: str) -> None:
    assert not rooms_imported(room(name)) & set(FAMILY_ROOMS)


@pytest.mark.parametrize("name", COMMON_ROOMS)
def test_the_common_rooms_import_no_family_and_not_credits(name: str) -> None:
    assert not rooms_imported(room(name)) & {*FAMILY_ROOMS, "credits"}


def _outside() -> list[object]:
    cases: list[object] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (path.name == "engine.py" and path.parent == PACKAGE) or ENGINE in path.parents:
            continue
        cases.append(pytest.param(path, id=str(path.relative_to(PACKAGE))))
    return cases


@pytest.mark.parametrize("path", _outside())
def test_nothing_outside_the_engine_imports_its_rooms(path: Path) -> None:
    assert not rooms_imported(path), f"{path.name} imports {sorted(rooms_imported(path))}"


@pytest.mark.parametrize("path", sorted((ROOT / "tests").rglob("*.py")), ids=lambda path: path.name)
def test_tests_import_no_room_but_the_rooms_own_tests(path: Path) -> None:
    if path.name in ROOM_TESTS:
        return
    assert not rooms_imported(path), f"{path.name} imports {sorted(rooms_imported(path))}"


def test_the_room_tests_are_listed_files() -> None:
    assert {path.name for path in (ROOT / "tests").glob("*.py")} >= ROOM_TESTS


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda path: path.name)
def test_every_room_is_a_few_hundred_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines (at most {MAX_LINES})"


def test_every_resource_type_is_billed_by_exactly_one_family() -> None:
    kinds = [
        value
        for name in resources.__all__
        if isinstance(value := getattr(resources, name), type)
        and issubclass(value, resources.Resource)
        and value is not resources.Resource
    ]
    assert kinds
    for kind in kinds:
        owners = [family.__name__ for family in FAMILIES if kind in family.kinds]
        assert len(owners) == 1, f"{kind.__name__} is billed by {owners or 'no family'}"
    billed = {kind for family in FAMILIES for kind in family.kinds}
    assert billed <= set(kinds), "a family bills a kind that resources does not export"
