"""Plugins through entry points (simonw/llm's way): providers, agents and publishers by name.

Each group maps a name to "module:attribute". The built-ins are declared in pyproject.toml
exactly as a plugin package declares its own, and again here as BUILTIN tables, so that an
installed copy whose metadata predates a built-in (an editable install not refreshed since
the entry point was added) still finds it; an entry point of the same name wins, so a plugin
can replace a built-in. Nothing is imported until a name is used: `masthead --help` pays for
no plugin.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

PROVIDERS = "masthead.providers"
AGENTS = "masthead.agents"
PUBLISHERS = "masthead.publishers"


@cache
def _installed(group: str) -> tuple[tuple[str, str], ...]:
    # Scanning the installed distributions costs ~10 ms: once per group per process.
    return tuple((entry.name, entry.value) for entry in entry_points(group=group))


def named(group: str, builtin: Mapping[str, str], found: Iterable[EntryPoint] | None = None) -> dict[str, str]:
    """name -> "module:attribute" for a group: the built-ins, then the installed entry points
    (or `found`, for tests) over them."""
    targets = dict(builtin)
    pairs = _installed(group) if found is None else tuple((entry.name, entry.value) for entry in found)
    targets.update(pairs)
    return targets


def load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
