"""The layers of DESIGN.md, read from the source: thin commands, no import cycle, a
public API that the benchmarks and tests use.

Every import counts, also one inside a function or under TYPE_CHECKING: a
cycle that only lazy imports hide is still a cycle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import typer.main

from conftest import REPO

PACKAGE = REPO / "supabase_init"
CLI_MAY_IMPORT = {"api", "report", "errors"}
MAX_COMMAND_LINES = 30

# Tests of one unit may import that unit (and the errors it raises) directly;
# every other test goes through the public API (`supabase_init.api`), the
# reporting module or the CLI.
UNIT_TESTS = {
    "test_sqlsplit.py": {"sqlsplit"},
    "test_tftemplate.py": {"tftemplate"},
    "test_terraform_parity.py": {"tftemplate", "config", "quoting"},
    "test_dsn.py": {"dsn"},
    "test_hcl_cache.py": {"hclfile"},
    "test_config_values.py": {"config", "hclfile", "variables"},
    "test_db_transaction.py": {"db", "transaction", "introspect"},
    "test_introspect.py": {"introspect"},
    "test_plan_verify_scale.py": {"introspect"},  # counts the snapshot's queries
    "test_terraform_module.py": {"config"},
    "test_files.py": {"files"},
    "test_targets.py": {"targets", "errors"},
    "test_redaction.py": {"dsn"},
    "test_variable_files.py": {"config", "errors", "hclfile", "variables"},
    "test_variable_values.py": {"config"},
    "test_help.py": {"cli"},
    "test_lint_expressions.py": {"lint"},
    "test_lint_scope.py": {"lint"},
    "test_policy_initplan.py": {"lint"},  # judges the policies with the advisor's text test
    "test_architecture.py": set(),
}
ALWAYS_ALLOWED = {"api", "report", "errors", "cli"}


def imported_modules(path: Path) -> list[tuple[str, list[str], int]]:
    """(module inside supabase_init, names imported from it, line) for every import of
    the package in ``path`` ("" is the package itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = path.is_relative_to(PACKAGE)
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level:
                if not inside:
                    continue
                base = node.module or ""
                if base:
                    found.append((base.split(".")[0], names, node.lineno))
                else:  # from . import api, report
                    found.extend((name, [], node.lineno) for name in names)
            elif node.module and (node.module == "supabase_init"
                                  or node.module.startswith("supabase_init.")):
                module = node.module.partition(".")[2].split(".")[0]
                if module:
                    found.append((module, names, node.lineno))
                else:
                    found.extend((name, [], node.lineno) for name in names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("supabase_init."):
                    found.append((alias.name.split(".")[1], [], node.lineno))
    return found


def package_modules() -> dict[str, Path]:
    """Each module of the package, and each sub-package (by its ``__init__``)."""
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    modules.update({p.parent.name: p for p in PACKAGE.glob("*/__init__.py")})
    return modules


def test_no_import_cycle_between_modules_of_the_package() -> None:
    modules = package_modules()
    graph = {name: sorted({m for m, _, _ in imported_modules(path) if m in modules} - {name})
             for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycle = stack[stack.index(name):] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for dep in graph[name]:
            visit(dep, [*stack, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert len(done) == len(modules) > 10


def test_the_cli_imports_only_the_api_the_report_and_the_errors() -> None:
    found = {m for m, _, _ in imported_modules(PACKAGE / "cli.py")}
    assert found <= CLI_MAY_IMPORT, found - CLI_MAY_IMPORT


def test_every_command_function_is_short() -> None:
    from supabase_init.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    functions = {c.callback.__name__ for c in commands.values()}
    tree = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    lengths = {node.name: node.end_lineno - node.lineno + 1  # type: ignore[operator]
               for node in tree.body if isinstance(node, ast.FunctionDef)
               and node.name in functions}
    assert set(lengths) == functions and len(functions) >= 5
    too_long = {name: n for name, n in lengths.items() if n > MAX_COMMAND_LINES}
    assert not too_long, too_long


def test_the_benchmarks_use_only_the_public_api() -> None:
    scripts = sorted((REPO / "bench").glob("*.py"))
    assert scripts
    for script in scripts:
        for module, names, line in imported_modules(script):
            assert module in ("api", "report"), f"{script.name}:{line} imports {module}"
            assert not any(n.startswith("_") for n in names), f"{script.name}:{line}"


def test_tests_import_units_only_in_their_own_tests_and_never_private_names() -> None:
    for path in sorted((REPO / "tests").glob("*.py")):
        allowed = ALWAYS_ALLOWED | UNIT_TESTS.get(path.name, set())
        for module, names, line in imported_modules(path):
            where = f"{path.name}:{line}"
            assert module in allowed, f"{where} imports supabase_init.{module}"
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{where} imports {private}"


def test_every_module_says_what_it_owns() -> None:
    modules = [*package_modules().values(), *PACKAGE.glob("*/*.py")]
    for path in modules:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, path.relative_to(PACKAGE)


def architecture_page() -> str:
    return (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_the_architecture_picture_names_every_module() -> None:
    section = architecture_page()
    missing = [name for name in package_modules() if name not in section]
    assert not missing, missing


def test_the_architecture_api_example_runs(database, capsys) -> None:
    import os
    import re

    code = re.search(r"```python\n(.*?)```", architecture_page(), re.DOTALL)
    assert code is not None
    source = code.group(1).replace('"postgresql://postgres@localhost/postgres"',
                                   repr(database.url))
    assert repr(database.url) in source
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        exec(compile(source, "docs/architecture.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert out.startswith('apply would make these changes to schemas "crm" and "crm_private"'
                          ), out[:200]
    assert "Plan: " in out
