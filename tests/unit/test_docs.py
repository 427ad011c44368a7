"""The docs against the code: every config, project and recipe key documented, the CLI reference
generated from the click tree, the template equal to the defaults, README commands real, and
every event type explained."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import click
import pytest
import yaml
from pydantic import BaseModel

import masthead.events
from masthead.channels.limits import CHANNELS, SUBJECT_LIMIT, rule_for
from masthead.cli.main import cli
from masthead.cli.reference import REGENERATE, render_cli_reference
from masthead.config import MastheadConfig
from masthead.events.types import EventData
from masthead.projects import Project
from masthead.recipes.schema import Recipe

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
TEMPLATE = ROOT / "src" / "masthead" / "masthead.toml.template"

# How the docs name the keys of a mapping whose values are sections ([models.<tier>] ...).
# A new mapping-of-sections field needs a name here and a section in docs/configuration.md.
PLACEHOLDERS = {
    "models": "<tier>",
    "prices": '"provider:model"',
    "rate_limits": '"provider:model"',
    "webhooks": "<source>",
    "publishers": "<name>",
    "channels": "<channel>",
}


# -- helpers ------------------------------------------------------------------------------
def read(path: Path) -> str:
    return path.read_text("utf-8")


def _heading_level(line: str) -> int:
    match = re.match(r"^(#{1,6})\s", line)
    return len(match.group(1)) if match else 0


def section(text: str, heading: str) -> str:
    """The text under the first heading that contains `heading`, up to the next heading of the
    same or a higher level. Fails the test if there is no such heading."""
    lines = text.splitlines()
    in_fence = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        level = 0 if in_fence else _heading_level(line)
        if level and heading in line:
            body = []
            fence = False
            for following in lines[index + 1 :]:
                if following.startswith("```"):
                    fence = not fence
                other = 0 if fence else _heading_level(following)
                if other and other <= level:
                    break
                body.append(following)
            return "\n".join(body)
    raise AssertionError(f"no heading containing {heading!r}")


def table_keys(text: str) -> set[str]:
    """The backticked first cells of the Markdown table rows in `text`."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE))


def _submodels(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """(suffix, model) for each pydantic model in a field's type: "" plain or optional,
    "[]" in a list, ".*" as a mapping's values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple, set, frozenset):
        return [("[]" + suffix, model) for arg in args for suffix, model in _submodels(arg)]
    if origin is dict:
        return [(".*" + suffix, model) for suffix, model in _submodels(args[1])]
    if origin in (Union, types.UnionType):
        return [found for arg in args for found in _submodels(arg)]
    return []


def model_tree(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, type[BaseModel]]]:
    """Every model reachable from `model`, with its dotted path as the docs write it."""
    yield path, model
    for name, field in model.model_fields.items():
        for suffix, sub in _submodels(field.annotation):
            if ".*" in suffix:
                assert name in PLACEHOLDERS, f"add a placeholder for the mapping {name!r} to PLACEHOLDERS"
                suffix = suffix.replace(".*", "." + PLACEHOLDERS[name])
            yield from model_tree(sub, f"{path}.{name}{suffix}" if path else f"{name}{suffix}")


def is_section_field(model: type[BaseModel], name: str) -> bool:
    return bool(_submodels(model.model_fields[name].annotation))


# -- (a) masthead.toml ------------------------------------------------------------------------
CONFIG_TREE = list(model_tree(MastheadConfig))


def test_the_config_tree_is_walked() -> None:
    paths = {path for path, _ in CONFIG_TREE}
    assert {"workspace", "models.<tier>", "providers.local", "runtime"} <= paths


@pytest.mark.parametrize(("path", "model"), CONFIG_TREE, ids=[p or "(top)" for p, _ in CONFIG_TREE])
def test_every_masthead_toml_key_is_documented(path: str, model: type[BaseModel]) -> None:
    """A key holding sections is a TOML table with a heading `[path]`; every other key is a row
    in the table under its section's heading."""
    text = section(read(DOCS / "configuration.md"), "## `masthead.toml`")
    keys = [name for name in model.model_fields if not is_section_field(model, name)]
    if not path:
        assert not keys, f"top-level keys {keys} are not tables; document them"
        return
    if not keys:
        return  # only holds tables ([providers]): each has its own heading
    rows = table_rows(section(text, f"`[{path}]`"))
    missing = set(keys) - set(rows)
    assert not missing, f"docs/configuration.md: add rows for {sorted(missing)} under ### `[{path}]`"
    for name in keys:
        check_default(model, name, rows[name][2], f"docs/configuration.md [{path}]")


def table_rows(text: str) -> dict[str, list[str]]:
    """Table rows by their backticked first cell: the cells, stripped."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| `([^`]+)` \|", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
    return rows


def check_default(model: type[BaseModel], name: str, cell: str, where: str) -> None:
    """The Default column says what the model's default is: `required`, `not set` for None,
    or the value in backticks (quotes around strings optional)."""
    field = model.model_fields[name]
    message = f"{where}: the default of `{name}` in the docs ({cell!r}) is not the code's"
    if field.is_required():
        assert "required" in cell, message
        return
    default = field.get_default(call_default_factory=True)
    if isinstance(default, BaseModel) or (isinstance(default, dict) and default):
        return  # a section of its own, or a mapping of sections: described in words
    if default is None:
        assert cell.startswith("not set"), message + " (expected: not set)"
        return
    shown = re.match(r"`([^`]*)`", cell)
    assert shown, message + f" (expected: `{default!r}`)"
    value = shown.group(1)
    if isinstance(default, bool):
        assert value == str(default).lower(), message
    elif isinstance(default, int | float):
        assert float(value) == float(default), message + f" (the code says {default})"
    elif isinstance(default, str):
        assert value.strip('"') == default, message + f" (the code says {default!r})"
    else:
        assert value == json.dumps(default), message + f" (the code says {default!r})"


# -- (b) project and recipe YAML ----------------------------------------------------------
@pytest.mark.parametrize(("root", "heading"), [(Project, "Project YAML"), (Recipe, "Recipe YAML")])
def test_every_yaml_key_is_documented(root: type[BaseModel], heading: str) -> None:
    text = section(read(DOCS / "configuration.md"), f"## {heading}")
    tree = list(model_tree(root))
    assert len(tree) >= 4
    for path, model in tree:
        part = section(text, "Top-level keys") if not path else section(text, f"### `{path}`")
        rows = table_rows(part)
        missing = set(model.model_fields) - set(rows)
        where = path or "Top-level keys"
        assert not missing, f"docs/configuration.md ({heading}, {where}): add rows for {sorted(missing)}"
        for name in model.model_fields:
            check_default(model, name, rows[name][2], f"docs/configuration.md ({heading}, {where})")


def test_the_full_project_example_is_a_valid_project() -> None:
    """The product example and the client example are valid; between them they set every key."""
    docs = section(read(DOCS / "configuration.md"), "## Project YAML")
    examples = [Project.model_validate(yaml.safe_load("\n".join(code_block(section(docs, heading)))))
                for heading in ("### A full example", "### A client project")]
    for name, field in Project.model_fields.items():
        default = field.get_default(call_default_factory=True)
        assert any(getattr(p, name) != default for p in examples), f"the examples leave out `{name}`"


def test_readme_toml_examples_are_valid_config() -> None:
    blocks = re.findall(r"^```toml\n(.*?)^```", read(README), re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        MastheadConfig.model_validate(tomllib.loads(block))  # README: a masthead.toml example must load


def test_every_channel_and_its_limit_is_documented() -> None:
    rows = {
        match.group(1): match.group(0)
        for match in re.finditer(r"^\| `([a-z]+)` \|.*$", section(read(DOCS / "configuration.md"), "## Channels"),
                                 re.MULTILINE)
    }
    assert set(rows) == set(CHANNELS)
    for channel in CHANNELS:
        rule = rule_for(channel)
        cells = [cell.strip() for cell in rows[channel].strip("|").split("|")]
        assert cells[1] == (str(rule.limit) if rule.limit is not None else "none"), channel
        assert (str(SUBJECT_LIMIT) in cells[3]) == rule.has_subject, channel


# -- (c) the CLI reference --------------------------------------------------------------------
def test_cli_reference_is_generated_from_the_commands() -> None:
    assert read(DOCS / "cli.md") == render_cli_reference(), f"docs/cli.md is stale: regenerate with `{REGENERATE}`"


def _commands(group: click.Group, prefix: str) -> Iterator[str]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_cli_reference_covers_every_command_and_option() -> None:
    text = render_cli_reference()
    for path in _commands(cli, "masthead"):
        assert f"## `{path}`" in text
    assert "| `--until-idle` | flag | off |" in text
    assert "| `--priority` | `high` \\| `normal` \\| `low` | `normal` |" in text
    assert "masthead project apply FILE\n" in text


# -- (d) the masthead.toml template -----------------------------------------------------------
def test_template_parses_and_equals_the_defaults() -> None:
    raw = tomllib.loads(read(TEMPLATE))
    parsed = MastheadConfig.model_validate(raw)  # extra="forbid": every key in it is a real key
    assert parsed.model_dump() == MastheadConfig().model_dump()


def test_template_shows_every_key_that_has_a_default() -> None:
    """Keys of the sections that always exist are in the template, set or commented out.
    Sections you name yourself ([models.<tier>], [prices."provider:model"]...) are not required."""
    text = read(TEMPLATE)
    checked = 0
    for path, model in CONFIG_TREE:
        if any(placeholder in path for placeholder in PLACEHOLDERS.values()):
            continue
        for name in model.model_fields:
            if not is_section_field(model, name):
                checked += 1
                assert re.search(rf"^#?\s*{name}\s*=", text, re.MULTILINE), f"the template lacks {path}.{name}"
    assert checked >= 20


# -- (e), (f) the README ----------------------------------------------------------------------
def code_block(text: str) -> list[str]:
    """The lines of the first fenced code block in `text`."""
    match = re.search(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert match, "no code block"
    return match.group(1).splitlines()


def resolve(words: list[str], group: click.Group) -> tuple[click.Command, click.Group, list[str]]:
    """Follow `words` down the command tree; return the command, its group and the rest."""
    command: click.Command = group
    parent = group
    rest = list(words)
    while isinstance(command, click.Group) and rest:
        sub = command.get_command(click.Context(command), rest[0])
        if sub is None:
            break
        parent, command = command, sub
        rest.pop(0)
    return command, parent, rest


def _check_options(command: click.Command, rest: list[str], line: str) -> None:
    known = {opt for param in [*command.params, *cli.params] for opt in [*param.opts, *param.secondary_opts]}
    for word in rest:
        flag = word.strip("[]")
        if flag.startswith("-"):
            assert flag in known, f"README: {line!r} uses {flag}, which {command.name} does not have"


def test_readme_usage_commands_exist() -> None:
    block = code_block(section(read(README), "## Usage"))
    lines = [line.split(" #")[0].strip() for line in block if line.startswith("masthead ")]
    assert len(lines) >= 10
    for line in lines:
        first, *alternatives = line.split(" | ")
        command, group, rest = resolve(first.split()[1:], cli)
        assert not isinstance(command, click.Group) and command is not cli, f"README: {line!r} names no command"
        _check_options(command, rest, line)
        for alternative in alternatives:  # "masthead project list | show NAME"
            other, _, rest = resolve(alternative.split(), group)
            assert other is not group, f"README: {alternative!r} in {line!r} is not a command of {group.name}"
            _check_options(other, rest, line)


def makefile_targets() -> set[str]:
    targets: set[str] = set()
    for match in re.finditer(r"^([A-Za-z0-9_.\-][A-Za-z0-9_.\- ]*):(?!=)", read(ROOT / "Makefile"), re.MULTILINE):
        targets.update(match.group(1).split())
    return targets


def test_readme_first_two_commands_are_make_demo_and_make_test() -> None:
    block = code_block(section(read(README), "## Two commands on a fresh machine"))
    commands = [line.split("#")[0].strip() for line in block if line.split("#")[0].strip()]
    assert commands[:2] == ["make demo", "make test"]
    targets = makefile_targets()
    assert {"demo", "test"} <= targets, f"Makefile targets: {sorted(targets)}"


def test_readme_links_to_docs_that_exist() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", read(README))
    assert links
    for link in links:
        assert (ROOT / link).is_file(), link


# -- (g) event types ----------------------------------------------------------------------
def event_types() -> set[str]:
    # Event types live in masthead.events (types.py and friends); import them all, so the
    # registry does not depend on which other tests ran first.
    for module in pkgutil.iter_modules(masthead.events.__path__, "masthead.events."):
        importlib.import_module(module.name)
    return {name for name, cls in EventData.registry.items() if cls.__module__.startswith("masthead.")}


def test_every_event_type_is_explained_in_concepts() -> None:
    listed = re.findall(r"^- `([A-Za-z]+)`: \S", section(read(DOCS / "concepts.md"), "## Event types"), re.MULTILINE)
    assert len(event_types()) >= 20
    missing = event_types() - set(listed)
    assert not missing, f"docs/concepts.md, ## Event types: add a line for each of {sorted(missing)}"
    unknown = set(listed) - event_types()
    assert not unknown, f"docs/concepts.md lists event types the code does not have: {sorted(unknown)}"
