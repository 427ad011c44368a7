"""masthead.toml as a file: where the workspace is, the TOML with the environment's overrides.

Kept apart from the config models (config.py) so that a command which only reads the log can
find and open its workspace without importing pydantic (about half of its start-up CPU before:
benchmarks/cli.py, RESULTS.md `## cli`): the
`[workspace]` table's simple values are read here, and anything unusual in it is left to the
models to explain (see `workspace_location`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Final

from masthead.errors import ConfigError, NotFoundError

CONFIG_NAME = "masthead.toml"
DEFAULT_DATABASE = "masthead.db"
DEFAULT_SYNCHRONOUS: Final = "NORMAL"
_WORKSPACE_KEYS = {"database", "out_dir", "synchronous", "operator"}


def read_config(path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """masthead.toml as TOML with the environment's overrides applied, not yet validated."""
    environ = dict(os.environ) if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise NotFoundError(f"no {CONFIG_NAME} at {path}", fix="run `masthead init`") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", fix="correct the line it names") from exc
    raw = _apply_env_overrides(raw, environ)
    _anchor_model_path(raw, path.parent)
    return raw


def _apply_env_overrides(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    if environ.get("MASTHEAD_DATABASE_URL"):
        raw.setdefault("workspace", {})["database"] = environ["MASTHEAD_DATABASE_URL"]
    for name, value in environ.items():
        if not name.startswith("MASTHEAD__"):
            continue
        path = [part.lower() for part in name[len("MASTHEAD__"):].split("__") if part]
        if len(path) < 2:
            continue
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return raw


def _anchor_model_path(raw: dict[str, Any], folder: Path) -> None:
    """A relative `[providers.local] model_path` is the workspace's, whatever the current folder."""
    local = raw.get("providers", {}).get("local") if isinstance(raw.get("providers"), dict) else None
    if isinstance(local, dict) and isinstance(local.get("model_path"), str) and local["model_path"]:
        given = Path(local["model_path"]).expanduser()
        local["model_path"] = str(given if given.is_absolute() else folder / given)


def find_workspace(explicit: str | None, environ: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
    """--workspace, then MASTHEAD_HOME, then the current folder or the nearest parent with masthead.toml."""
    environ = dict(os.environ) if environ is None else environ
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / CONFIG_NAME).exists():
            raise NotFoundError(f"--workspace {root} has no {CONFIG_NAME}", fix=f"run `masthead init {root}`")
        return root
    if environ.get("MASTHEAD_HOME"):
        root = Path(environ["MASTHEAD_HOME"]).expanduser().resolve()
        if not (root / CONFIG_NAME).exists():
            raise NotFoundError(f"MASTHEAD_HOME={root} has no {CONFIG_NAME}", fix=f"run `masthead init {root}`")
        return root
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).exists():
            return folder
    raise NotFoundError(
        f"no {CONFIG_NAME} in {here} or its parents",
        fix="run `masthead init` here, pass --workspace DIR, or set MASTHEAD_HOME",
    )


def workspace_location(raw: dict[str, Any]) -> tuple[str, str] | None:
    """(database, synchronous) of a `[workspace]` table whose keys are all known and well-typed;
    None when anything is off, so the caller validates it with the model and its clear error."""
    table = raw.get("workspace", {})
    if not isinstance(table, dict) or not set(table) <= _WORKSPACE_KEYS:
        return None
    if not all(isinstance(value, str) for value in table.values()):
        return None
    database = table.get("database", DEFAULT_DATABASE)
    synchronous = table.get("synchronous", DEFAULT_SYNCHRONOUS)
    if not database or synchronous not in ("FULL", "NORMAL"):
        return None
    return database, synchronous
