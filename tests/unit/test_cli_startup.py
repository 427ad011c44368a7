"""The CLI's start-up: commands are registered by name and imported only when they run, and every
command prints through the one escaping `echo`."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from masthead.cli.lazy import load_command
from masthead.cli.main import COMMANDS, cli

CLI_DIR = Path(__file__).resolve().parents[2] / "src" / "masthead" / "cli"
HEAVY = ("fastapi", "uvicorn", "starlette", "numpy", "onnxruntime", "llama_cpp", "openai", "httpx")

PROBE = """
import json, sys
from masthead.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*argv: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter has loaded after running `masthead ARGV`."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=list(argv))], capture_output=True, text=True,
                          timeout=60, cwd=cwd, check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def test_help_imports_no_command_module_and_nothing_heavy():
    modules = imported_by("--help")
    assert heavy_among(modules) == []
    commands = sorted(m for m in modules if m.startswith("masthead.cli.") and m not in
                      {"masthead.cli.main", "masthead.cli.common", "masthead.cli.lazy"})
    assert commands == []
    assert "masthead.app.workspace" not in modules


def test_listing_commands_import_no_web_server_and_no_model_runtime(tmp_path):
    subprocess.run([sys.executable, "-m", "masthead.cli.main", "init", str(tmp_path)], check=True,
                   capture_output=True, timeout=60)
    for argv in (["pieces", "list"], ["review", "list"]):
        modules = imported_by("-w", str(tmp_path), *argv)
        assert heavy_among(modules) == [], argv
        # pydantic alone is ~130 ms of CPU: a listing opens the workspace from the TOML's
        # `[workspace]` table and validates the whole config only when something reads it.
        assert "pydantic" not in modules, argv


def test_a_listing_still_names_a_bad_workspace_table(tmp_path):
    subprocess.run([sys.executable, "-m", "masthead.cli.main", "init", str(tmp_path)], check=True,
                   capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path), "pieces", "list"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "MASTHEAD__WORKSPACE__SYNCHRONOUS": "FAST"})
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "workspace" in done.stderr and "synchronous" in done.stderr, done.stderr


def test_a_command_that_reads_the_config_still_refuses_a_bad_table(tmp_path):
    subprocess.run([sys.executable, "-m", "masthead.cli.main", "init", str(tmp_path)], check=True,
                   capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path), "run", "--until-idle"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "MASTHEAD__RUNTIME__CONCURRENCY": "many"})
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "runtime.concurrency" in done.stderr, done.stderr


def test_help_lists_every_command_with_its_own_short_help():
    shown = CliRunner().invoke(cli, ["--help"]).output
    for name in COMMANDS:
        assert f"\n  {name} " in shown, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_registry_entry_matches_the_command_it_loads(name):
    entry = COMMANDS[name]
    command = load_command(entry.target)
    assert command.name == name
    # The registry's help line stands in for the command's in `masthead --help`: they must agree
    # at every width the help screen may cut them to.
    for limit in (30, 45, 60, 80, 200):
        assert entry.stand_in(name).get_short_help_str(limit) == command.get_short_help_str(limit), limit


def test_loading_a_command_keeps_help_the_same():
    runner = CliRunner()
    before = runner.invoke(cli, ["--help"]).output
    for name in COMMANDS:
        assert cli.get_command(click.Context(cli), name) is not None
    assert runner.invoke(cli, ["--help"]).output == before


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["nosuch"])
    assert result.exit_code == 2 and "No such command 'nosuch'" in result.output


def _click_echo_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text("utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "echo"
            and isinstance(node.value, ast.Name) and node.value.id == "click"]


def test_commands_print_through_the_escaping_echo():
    """Text from signals and models reaches the terminal only through cli.common.echo (escaped) or
    echo_json; main.py prints only its own fixed lines and already escaped error lines."""
    offenders = {path.name: lines for path in sorted(CLI_DIR.glob("*.py"))
                 if path.name not in ("common.py", "main.py") and (lines := _click_echo_calls(path))}
    assert offenders == {}, "print with masthead.cli.common.echo, not click.echo"
