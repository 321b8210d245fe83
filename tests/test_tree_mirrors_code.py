"""The test tree mirrors the code tree, so the tests of a module are found where the module is and
a new package cannot arrive without a place for its tests; and tests share helpers only through
`tests.support`, by absolute import."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

TESTS = ROOT / "tests"
CODE = ("models", "service", "training", "cli")
# Test directories without a code package of the same path, and why.
EXTRA = {
    "support": "helpers the tests share (not tests)",
    "e2e": "the model-based end-to-end test: every operation a shop performs, every promise on every surface",
    "service/api": "end-to-end tests through the whole app: several routers, both stores, the CLI",
    "benchmarks_": "tests of benchmarks/; a package named `benchmarks` under tests/ would be found for"
    " `import benchmarks` whenever tests/ itself is on sys.path (pytest run from inside tests/, another"
    " rootdir or import mode), hiding the real one",
}


def _packages(root: Path) -> set[str]:
    return {p.parent.relative_to(ROOT).as_posix() for p in root.rglob("__init__.py") if "__pycache__" not in p.parts}


def _test_dirs() -> set[str]:
    found = {p.parent for p in TESTS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    return {d.relative_to(TESTS).as_posix() for d in found if d != TESTS}


def code_packages() -> list[str]:
    return sorted(set().union(*(_packages(ROOT / top) for top in CODE)))


def test_every_code_package_has_a_tests_directory_with_tests() -> None:
    missing = []
    for package in code_packages():
        here = TESTS / package
        own_modules = [p for p in (ROOT / package).glob("*.py") if p.name != "__init__.py"]
        if not list(here.rglob("test_*.py")) or (own_modules and not list(here.glob("test_*.py"))):
            missing.append(f"tests/{package}/test_*.py")
    assert missing == [], "code packages without tests where the tree says they are"


def test_every_tests_directory_mirrors_a_code_package_or_says_why_not() -> None:
    mirrors = set(code_packages())
    extra = {d for d in _test_dirs() if d not in mirrors and not any(d == e or d.startswith(f"{e}/") for e in EXTRA)}
    assert extra == set(), "test directories that mirror no code package: move them, or name them in EXTRA"


def test_every_tests_directory_is_a_package() -> None:
    """With `__init__.py` all the way up from tests/, pytest (prepend import mode) imports each test
    module by its full name (`tests.service.live.test_overlays`) with the repository root on
    sys.path: two modules may share a file name in different directories, and `tests.support`
    imports work; without it, the directory itself would go on sys.path and `service` or `models`
    in it could shadow the real packages."""
    assert (TESTS / "__init__.py").is_file()
    missing = sorted(d for d in _test_dirs() if not (TESTS / d / "__init__.py").is_file())
    assert missing == []


def _wrong_imports(path: Path, local: set[str]) -> list[str]:
    """Imports of a conftest, relative imports, and bare imports of a module that lives under tests/."""
    wrong = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            names = [f"{'.' * node.level}{node.module or ''}"]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            first = name.split(".")[0]
            if name.startswith(".") or name.split(".")[-1] == "conftest" or first in local:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return wrong


def _local_modules() -> set[str]:
    """Names of the modules under tests/ that a bare import would find if their directory were on
    sys.path (and that are no package of the repository's own)."""
    stems = {p.stem for p in TESTS.rglob("*.py") if p.name != "__init__.py"}
    return {s for s in stems if not (ROOT / f"{s}.py").exists() and not (ROOT / s).is_dir()} | {"conftest"}


def test_helpers_are_imported_from_tests_support_by_absolute_path() -> None:
    local = _local_modules()
    wrong = [line for p in sorted(TESTS.rglob("*.py")) for line in _wrong_imports(p, local)]
    assert wrong == [], "import helpers from tests.support (fixtures stay in conftest.py files)"
