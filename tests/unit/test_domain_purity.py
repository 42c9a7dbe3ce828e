"""Domain purity (issue 17): the rules in ``services/*/domain`` do no I/O, so they can be
tested by plain calls and changed without fear. The import contract is import-linter's
(``[tool.importlinter]`` in pyproject.toml, also run by ``make lint``); import-linter
sees imports only, so calls that open files are refused here by reading the code."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_FILES = sorted(ROOT.glob("services/*/domain/**/*.py"))
# Calls that read or write files whatever object they are made on (open(), Path.open, ...).
FILE_CALLS = frozenset({"open", "read_text", "read_bytes", "write_text", "write_bytes", "mkdir", "unlink"})


def file_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of each call of ``open`` or a file method in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in FILE_CALLS:
            found.append((node.lineno, name))
    return found


def test_domain_packages_import_no_io_modules(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0, "an import contract is broken (output above)"


def test_domain_modules_open_no_files() -> None:
    assert DOMAIN_FILES, "no domain modules found"
    calls = [
        f"{path.relative_to(ROOT)}:{line} {name}()"
        for path in DOMAIN_FILES
        for line, name in file_calls(path.read_text(encoding="utf-8"))
    ]
    assert calls == [], "domain modules must get data passed in; move file access to an adapter"


def test_the_check_sees_open_in_all_its_forms() -> None:
    source = "def f(p):\n    open(p)\n    p.open('rb')\n    return p.read_text()\n"
    assert file_calls(source) == [(2, "open"), (3, "open"), (4, "read_text")]
