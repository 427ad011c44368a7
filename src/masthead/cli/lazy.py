"""A click group whose commands are imported when they run, not when `masthead` starts.

Each command group's module pulls in what it needs (the workspace, the store, the web server,
numpy...); importing all of them made every command, `--help` included, start in over a second.
The group knows each command by name, where it lives ("module:attribute") and its one-line
help, so listing the commands imports none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class LazyCommand(NamedTuple):
    target: str  # "package.module:attribute", the click command or group to load
    short_help: str  # shown by `masthead --help`; a test checks it against the command's own

    def stand_in(self, name: str) -> click.Command:
        """A command with only this help text: click cuts it to the screen as it cuts the real one's."""
        return click.Command(name, help=self.short_help)


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(load_command(self.lazy_commands[cmd_name].target), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `--help` from the registry's help lines, importing nothing."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.lazy_commands and name not in self.commands:
                rows.append((name, self.lazy_commands[name].stand_in(name).get_short_help_str(limit)))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load_command(target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")  # a wrong registry entry: a bug, not user input
    return command
