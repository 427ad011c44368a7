"""`masthead template list|show|validate`."""

from __future__ import annotations

from pathlib import Path

import click

from masthead.cli.common import CliState, echo, echo_json, pass_state


@click.group("template")
def template_group() -> None:
    """Document templates (proposals): built-in and the workspace's templates/<name>.md."""


@template_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def template_list(state: CliState, as_json: bool) -> None:
    """List templates: name, where it comes from, its sections."""
    from masthead.app.templates import list_templates

    found = list_templates(state.workspace().root)
    if as_json:
        echo_json([{"name": t.name, "origin": t.origin, "sections": t.sections} for t in found])
        return
    for info in found:
        echo(f"{info.name:<16} {info.origin}  ({len(info.sections)} sections)")


@template_group.command("show")
@click.argument("name")
@pass_state
def template_show(state: CliState, name: str) -> None:
    """Print a template with its sections and placeholders."""
    from masthead.app.templates import show_template

    info = show_template(state.workspace().root, name)
    echo(f"# {info.name} ({info.origin})")
    echo(f"# sections: {'; '.join(info.sections)}")
    echo(f"# placeholders: {', '.join(info.placeholders)}")
    echo(info.text, nl=False)


@template_group.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--project", help="Render against this client project (default: a sample client).")
@click.option("--print", "print_it", is_flag=True, help="Print the rendered document.")
@pass_state
def template_validate(state: CliState, file: Path, project: str | None, print_it: bool) -> None:
    """Render a template file in the sandbox; errors name the line and the fix."""
    from masthead.app.templates import validate_template

    chosen = None
    if project is not None:
        from masthead.app.commands import get_project

        chosen = get_project(state.workspace(), project)
    info, rendered = validate_template(file, chosen)
    echo(f"{file}: valid; {len(info.sections)} sections, placeholders: {', '.join(info.placeholders)}")
    if print_it:
        echo(rendered, nl=False)
