"""`masthead project apply|list|show` and `masthead recipe list|show|validate`."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from masthead.app.commands import apply_project, get_project
from masthead.cli.common import CliState, echo, echo_json, pass_state
from masthead.recipes.loader import get_recipe, load_recipes, parse_recipe
from masthead.text_input import read_text_file


@click.group("project")
def project_group() -> None:
    """Products, clients or campaigns: voice, audience, facts, channels, policies."""


@project_group.command("apply")
@click.argument("file", type=click.Path(path_type=Path))
@pass_state
def project_apply(state: CliState, file: Path) -> None:
    """Create or update a project from a YAML file."""
    project, revision, changed = apply_project(state.workspace(), file, by=state.principal())
    verb = "applied" if changed else "unchanged"
    channels = ", ".join(f"{name} ({settings.gate})" for name, settings in project.channels.items())
    echo(f"{verb} project {project.name} (revision {revision}); channels: {channels}")


@project_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def project_list(state: CliState, as_json: bool) -> None:
    """List projects."""
    from masthead.app.listings import project_names

    rows = project_names(state.workspace())
    if as_json:
        echo_json(rows)
        return
    if not rows:
        echo("no projects yet: masthead project apply FILE.yaml")
    for row in rows:
        echo(f"{row['name']:<20} rev {row['revision']:<3} {row['description']}")


@project_group.command("show")
@click.argument("name")
@pass_state
def project_show(state: CliState, name: str) -> None:
    """Print a project as YAML."""
    project = get_project(state.workspace(), name)
    echo(yaml.safe_dump(project.model_dump(mode="json"), sort_keys=False, allow_unicode=True), nl=False)


@click.group("recipe")
def recipe_group() -> None:
    """Workflows: DAGs of steps that turn a kind of signal into pieces."""


def _workspace_root(state: CliState) -> Path | None:
    try:
        return state.workspace().root
    except Exception:  # noqa: BLE001 - recipes are readable without a workspace (built-ins)
        return None


@recipe_group.command("list")
@pass_state
def recipe_list(state: CliState) -> None:
    """List built-in and workspace recipes."""
    for name, (recipe, source) in sorted(load_recipes(_workspace_root(state)).items()):
        kinds = ", ".join(recipe.trigger.signal_kinds)
        echo(f"{name:<20} v{recipe.version}  on {kinds:<20} {len(recipe.steps)} steps  ({source})")


@recipe_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def recipe_show(state: CliState, name: str, as_json: bool) -> None:
    """Print a recipe and its steps."""
    recipe = get_recipe(_workspace_root(state), name)
    if as_json:
        echo_json(recipe.model_dump(mode="json"))
        return
    echo(f"{recipe.name} v{recipe.version}: {recipe.description.strip()}")
    echo(f"trigger: signal kinds {', '.join(recipe.trigger.signal_kinds)}")
    gather = recipe.trigger.gather
    if gather is not None:
        kinds = ", ".join(gather.signal_kinds) if gather.signal_kinds is not None else "every other kind"
        echo(f"gathers: the project's signals of the past {gather.days} day(s) ({kinds}), at most {gather.max_signals}")
    if recipe.min_gate:
        echo(f"gate: at least {recipe.min_gate}, whatever the channel's gate")
    for step in recipe.steps:
        what = f"agent {step.agent} ({step.tier})" if step.agent else f"action {step.action}"
        fan = " per channel" + (f" [{', '.join(step.channels)}]" if step.channels else "") if step.for_each else ""
        needs = f" after {', '.join(step.needs)}" if step.needs else ""
        refine = f"; refine with {step.refine.agent} ({step.refine.tier}) x{step.refine.max_rounds}" if step.refine else ""
        echo(f"  {step.id:<10} {what}{fan}{needs}{refine}")


@recipe_group.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def recipe_validate(file: Path) -> None:
    """Check a recipe YAML file without installing it."""
    recipe = parse_recipe(read_text_file(file, "recipe", 1_000_000, option="FILE"), str(file))
    echo(f"ok: {recipe.name} v{recipe.version}, {len(recipe.steps)} steps")
