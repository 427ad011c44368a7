"""The layers of DESIGN.md, read from the source: imports point down, and the CLI and the web
reach the database only through app/ functions (issue 16, decision 4).

Both rules were true when this test was written; it keeps them true. The tiers are coarse on
purpose: packages of the same tier (compose, channels, agents...) may use one another.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import masthead

PACKAGE = Path(masthead.__file__).parent
TIER = {"cli": 5, "web": 5, "app": 4, "runtime": 3, "channels": 2, "agents": 2, "recipes": 2, "compose": 2,
        "sources": 2, "providers": 2, "memory": 2, "projections": 1, "events": 0}
# Calls that run SQL on a store or a connection.
SQL_CALLS = {"query", "execute", "executemany", "execute_unlogged"}


def _modules(*packages: str) -> Iterator[tuple[str, Path, ast.Module]]:
    for package in packages:
        for path in sorted((PACKAGE / package).rglob("*.py")):
            yield package, path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every masthead module imported, at module level or inside a function (lazy imports too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def test_imports_point_down() -> None:
    upward = []
    for package, path, tree in _modules(*TIER):
        for line, module in _imported(tree):
            parts = module.split(".")
            if parts[0] == "masthead" and len(parts) > 1 and TIER.get(parts[1], -1) > TIER[package]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not upward, "a lower layer imports a higher one:\n" + "\n".join(upward)


def test_the_cli_and_the_web_run_no_sql_of_their_own() -> None:
    found = []
    for _, path, tree in _modules("cli", "web"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.func.attr}(...)")
    assert not found, "call an app/ function instead:\n" + "\n".join(found)


def test_the_checks_see_a_violation() -> None:
    # The walkers above must see lazy imports and method calls, or both tests pass vacuously.
    tree = ast.parse("def f(ws):\n    from masthead.cli.main import cli\n    return ws.store.query('SELECT 1')\n")
    assert [module for _, module in _imported(tree)] == ["masthead.cli.main"]
    assert any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "query"
               for n in ast.walk(tree))
