"""Find recipes: built-ins shipped in the package, then the workspace's `recipes/*.yaml`.

A workspace recipe with a built-in's name replaces it, exactly as a user's own would.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from masthead.agents.registry import agent_names
from masthead.config import format_validation_error
from masthead.errors import ConfigError, NotFoundError
from masthead.recipes.schema import Recipe
from masthead.yaml_input import load_mapping


def parse_recipe(text: str, source: str) -> Recipe:
    raw = load_mapping(text, source, expected="name:, trigger:, steps:", docs="docs/configuration.md#recipe-yaml")
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    known = agent_names()
    for index, step in enumerate(recipe.steps):
        names = [step.agent] if step.agent else []
        if step.refine is not None:
            names.append(step.refine.agent)
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"{source}: steps.{index}.agent: agent {name!r} is unknown; known agents: {', '.join(sorted(known))}"
                )
    return recipe


@functools.cache
def _builtin_sources() -> dict[str, tuple[str, str]]:
    # Shipped inside the package: they cannot change while the process runs.
    folder = resources.files("masthead.recipes").joinpath("builtin")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name[:-5]] = (entry.read_text("utf-8"), f"built-in {entry.name}")
    return found


# path -> ((mtime_ns, size), text): a file is read again only when it changed on disk.
_FILES: dict[str, tuple[tuple[int, int], str]] = {}


def _workspace_sources(workspace: Path | None) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    if workspace is None:
        return found
    # Asked for every signal: scandir alone (no is_dir first, no Path arithmetic) says both
    # whether the folder is there and what is in it.
    try:
        with os.scandir(os.path.join(workspace, "recipes")) as entries:
            files = sorted((e.name, e.path, e.stat()) for e in entries if e.name.endswith(".yaml") and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return found
    for name, path, stat in files:
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = _FILES.get(path)
        if cached is None or cached[0] != stamp:
            cached = _FILES[path] = (stamp, Path(path).read_text("utf-8"))
        found[name[:-5]] = (cached[1], path)
    return found


_PARSED: dict[tuple[str, str], Recipe] = {}


def load_recipes(workspace: Path | None) -> dict[str, tuple[Recipe, str]]:
    """All recipes by name, with where each came from. Files are looked at every time (an edit
    takes effect at once) and read again when their size or mtime changed; parsing is cached by
    content, since YAML parsing is the slow part."""
    recipes: dict[str, tuple[Recipe, str]] = {}
    for text, source in {**_builtin_sources(), **_workspace_sources(workspace)}.values():
        key = (source, text)
        recipe = _PARSED.get(key)
        if recipe is None:
            recipe = _PARSED[key] = parse_recipe(text, source)
        recipes[recipe.name] = (recipe, source)
    return recipes


def get_recipe(workspace: Path | None, name: str) -> Recipe:
    recipes = load_recipes(workspace)
    if name not in recipes:
        raise NotFoundError(f"recipe {name!r} does not exist", fix=f"use one of: {', '.join(sorted(recipes))}")
    return recipes[name][0]
