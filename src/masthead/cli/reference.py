"""Render the CLI reference (docs/cli.md) from the click command tree.

After changing a command, regenerate the page with

    python -m masthead.cli.reference > docs/cli.md

A test compares docs/cli.md with `render_cli_reference()`, so the page cannot drift from the code.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from masthead import errors
from masthead.cli.main import cli

REGENERATE = "python -m masthead.cli.reference > docs/cli.md"


def render_cli_reference() -> str:
    """The whole reference page as Markdown, commands in tree order (groups, then their commands)."""
    root = click.Context(cli, info_name="masthead", **cli.context_settings)
    help_flags = ", ".join(f"`{name}`" for name in root.help_option_names)
    lines = [
        f"<!-- Generated from the click commands by `{REGENERATE}`. Do not edit by hand. -->",
        "",
        "# CLI reference",
        "",
        "Every command and option of `masthead`, generated from the code.",
        "",
        "- Global options (`-w/--workspace DIR`) go between `masthead` and the command:",
        "  `masthead -w ./acme review list`.",
        f"- Every command and group also accepts {help_flags}.",
        "- Errors print one `error: ... (fix: ...)` line per problem on stderr and exit non-zero;",
        "  nothing is written. The exit code says what kind of error it was (see the end of this page).",
        "",
    ]
    for ctx in _walk(root):
        lines.extend(_render_command(ctx))
    lines.extend(_render_exit_codes())
    return "\n".join(lines).rstrip("\n") + "\n"


def _walk(ctx: click.Context) -> Iterator[click.Context]:
    yield ctx
    command = ctx.command
    if not isinstance(command, click.Group):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(click.Context(sub, info_name=name, parent=ctx, **sub.context_settings))


def _is_help(param: click.Parameter, ctx: click.Context) -> bool:
    return any(opt in ctx.help_option_names for opt in param.opts)


def _usage(ctx: click.Context) -> str:
    command = ctx.command
    params = [p for p in command.params if not _is_help(p, ctx)]
    pieces = [ctx.command_path]
    if any(isinstance(p, click.Option) for p in params):
        pieces.append("[OPTIONS]")
    for param in params:
        if isinstance(param, click.Argument):
            pieces.extend(param.get_usage_pieces(ctx))
    if isinstance(command, click.Group):
        pieces.append(command.subcommand_metavar or "COMMAND [ARGS]...")
    return " ".join(pieces)


def _render_command(ctx: click.Context) -> list[str]:
    command = ctx.command
    lines = [f"## `{ctx.command_path}`", "", "```text", _usage(ctx), "```", ""]
    help_text = _escape(inspect.cleandoc(command.help or "").strip())
    if help_text:
        lines.extend([help_text, ""])
    if isinstance(command, click.Group):
        rows = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                rows.append(f"| `{ctx.command_path} {name}` | {_cell(sub.get_short_help_str(limit=200))} |")
        if rows:
            lines.extend(["| Command | What it does |", "| --- | --- |", *rows, ""])
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        lines.extend(["| Argument | Type | Default |", "| --- | --- | --- |"])
        lines.extend(f"| `{arg.human_readable_name}` | {_type_text(arg)} | {_default_text(arg, ctx)} |"
                     for arg in arguments)
        lines.append("")
    options = [p for p in command.params if isinstance(p, click.Option) and not _is_help(p, ctx)]
    if options:
        lines.extend(["| Option | Type | Default | Description |", "| --- | --- | --- | --- |"])
        for option in options:
            flags = sorted(option.opts + option.secondary_opts, key=lambda opt: opt.startswith("--"))
            names = ", ".join(f"`{flag}`" for flag in flags)
            lines.append(f"| {names} | {_type_text(option)} | {_default_text(option, ctx)} | "
                         f"{_cell(option.help or '')} |")
        lines.append("")
    return lines


def _type_text(param: click.Parameter) -> str:
    kind = param.type
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    if isinstance(kind, click.Choice):
        return " \\| ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, click.IntRange | click.FloatRange):
        noun = "integer" if isinstance(kind, click.IntRange) else "number"
        if kind.min is not None and kind.max is not None:
            text = f"{noun}, {kind.min} to {kind.max}"
        elif kind.min is not None:
            text = f"{noun}, {kind.min} or more"
        elif kind.max is not None:
            text = f"{noun}, at most {kind.max}"
        else:
            text = noun
    else:
        text = {"integer": "integer", "float": "number", "text": "text", "path": "path"}.get(kind.name, kind.name)
    if isinstance(param, click.Option) and param.metavar:
        text += f" (`{param.metavar}`)"
    return text


def _default_text(param: click.Parameter, ctx: click.Context) -> str:
    if param.required:
        return "required"
    if isinstance(param, click.Option) and param.is_flag:
        return "on" if param.default is True else "off"
    value = param.get_default(ctx, call=False)
    # Click marks "no default" with None or an internal sentinel; only plain values are shown.
    if value == "":
        return "empty"
    if isinstance(value, str | int | float | Path) and not isinstance(value, bool):
        return f"`{value}`"
    return "none"


def _escape(text: str) -> str:
    """Keep `<name>` in help texts visible: Markdown would take it for an HTML tag."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """One table cell: a single line, with pipes and angle brackets escaped."""
    return _escape(" ".join(text.split()).replace("|", "\\|"))


def _render_exit_codes() -> list[str]:
    rows = [("usage error (unknown option, missing argument)", 2, "click rejected the command line")]
    for cls in _error_classes(errors.MastheadError):
        doc = inspect.cleandoc(cls.__doc__ or "").splitlines()
        rows.append((f"`{cls.__name__}`", cls.exit_code, doc[0] if doc else ""))
    rows.append(("interrupted (Ctrl-C)", 130, "run the same command again to resume"))
    lines = ["## Exit codes", "", "| Error | Exit code | Meaning |", "| --- | --- | --- |"]
    lines.extend(f"| {name} | {code} | {_cell(meaning)} |" for name, code, meaning in rows)
    lines.append("")
    return lines


def _error_classes(base: type[errors.MastheadError]) -> list[type[errors.MastheadError]]:
    found = [base]
    for sub in sorted(base.__subclasses__(), key=lambda cls: cls.__name__):
        if sub.__module__ == errors.__name__:
            found.extend(_error_classes(sub))
    return found


def main() -> None:
    sys.stdout.write(render_cli_reference())


if __name__ == "__main__":
    main()
