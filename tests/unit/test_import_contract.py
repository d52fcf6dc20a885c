"""The house's layering, held by a test rather than by review: the library decides and
never imports Airflow, the DAG files only wire (the adapter and the Task SDK), and no
test module imports another test module (shared parts live in tests/kits/)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits.treekit import REPO

STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _top(module: str) -> str:
    return module.split(".")[0]


def _sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _sources("include"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_library_never_imports_airflow_or_the_adapter(path: Path) -> None:
    found = [f"{path.relative_to(REPO)}:{line} imports {module}"
             for line, module in _imports(path)
             if _top(module) in {"airflow", "updraft_airflow", "tests", "dags"}]
    assert not found


@pytest.mark.parametrize("path", _sources("plugins"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_adapter_never_imports_the_dags_or_the_tests(path: Path) -> None:
    found = [f"{path.relative_to(REPO)}:{line} imports {module}"
             for line, module in _imports(path) if _top(module) in {"dags", "tests"}]
    assert not found


@pytest.mark.parametrize("path", _sources("dags"), ids=lambda p: p.name)
def test_a_dag_file_imports_only_the_adapter_and_the_task_sdk(path: Path) -> None:
    def allowed(module: str) -> bool:
        return (_top(module) in STDLIB or _top(module) == "updraft_airflow"
                or module == "airflow.sdk" or module.startswith("airflow.sdk."))

    found = [f"{path.name}:{line} imports {module}"
             for line, module in _imports(path) if not allowed(module)]
    assert not found


@pytest.mark.parametrize("path", _sources("plugins"), ids=lambda p: str(p.relative_to(REPO)))
def test_an_adapter_types_the_task_context_as_airflow_s_context(path: Path) -> None:
    """mypy checks what a Context holds only if it is declared one (`context: Any` and a
    plain dict would let any key through)."""
    loose = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                shown = ast.unparse(arg.annotation) if arg.annotation else "(none)"
                if arg.arg == "context" and shown not in ("Context", "'Context'"):
                    loose.append(f"{path.name}:{node.lineno} {node.name}(context: {shown})")
    assert not loose


def _test_modules() -> list[Path]:
    return sorted(path for path in (REPO / "tests").rglob("*.py")
                  if path.name.startswith("test_") or path.name == "conftest.py")


@pytest.mark.parametrize("path", _test_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_test_module_imports_another(path: Path) -> None:
    def is_test_module(module: str) -> bool:
        leaf = module.rsplit(".", 1)[-1]
        return _top(module) == "tests" and (leaf.startswith("test_") or leaf == "conftest")

    found = [f"{path.relative_to(REPO)}:{line} imports {module}"
             for line, module in _imports(path) if is_test_module(module)]
    assert not found
