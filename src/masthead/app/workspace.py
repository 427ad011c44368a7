"""A workspace: a folder with masthead.toml and its database, opened once per command."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from masthead.config_files import CONFIG_NAME, find_workspace, read_config, workspace_location
from masthead.errors import InputError
from masthead.events.open import is_postgres_url, open_store
from masthead.events.store import EventStore
from masthead.projections.read_models import ReadModelProjector

# The runtime, providers, memory (numpy, the embedder) and publishers load when a command first
# uses them, not when a workspace opens: `pieces list` reads a table and should start like it.
if TYPE_CHECKING:
    from masthead.channels.publisher import Publisher
    from masthead.config import MastheadConfig
    from masthead.memory.service import MemoryService
    from masthead.providers.registry import ProviderSet
    from masthead.runtime.guards import Guards
    from masthead.runtime.runner import Runner
    from masthead.runtime.steps import StepServices
    from masthead.runtime.worker import TaskReport


def config_template() -> str:
    from importlib import resources

    return resources.files("masthead").joinpath("masthead.toml.template").read_text("utf-8")


class Workspace:
    """`config` may be given as a loader: it is validated when a command first reads it, so a
    command that only reads the log does not pay for validating every table."""

    def __init__(self, root: Path, config: MastheadConfig | Callable[[], MastheadConfig], store: EventStore):
        self.root = root
        self.store = store
        if callable(config):
            self._load_config = config
        else:
            self.__dict__["config"] = config

    @cached_property
    def config(self) -> MastheadConfig:
        return self._load_config()

    @cached_property
    def providers(self) -> ProviderSet:
        from masthead.providers.registry import ProviderSet

        return ProviderSet(self.config)

    @cached_property
    def guards(self) -> Guards:
        from masthead.runtime.guards import Guards

        # One set of guards per process: rate limits and breakers are shared by all workers.
        return Guards(self.store, self.config)

    @cached_property
    def memory(self) -> MemoryService:
        from masthead.memory.factory import embedder_for
        from masthead.memory.service import MemoryService

        # The embedder loads on first use (once per process), not when the service is made.
        return MemoryService(self.store, self.config.memory, lambda: embedder_for(self.config.memory))

    @property
    def out_dir(self) -> Path:
        return (self.root / self.config.workspace.out_dir).resolve()

    def publishers(self) -> dict[str, Publisher]:
        from masthead.channels.publishers.registry import build_publishers

        return build_publishers(self.config, self.out_dir, os.environ)

    def services(self, on_text: Callable[[str, str], None] | None = None) -> StepServices:
        from masthead.runtime.steps import StepServices

        return StepServices(store=self.store, config=self.config, providers=self.providers,
                            publishers=self.publishers(), guards=self.guards, on_text=on_text,
                            memory=self.memory, root=self.root)

    def redact(self, text: str) -> str:
        """Remove secret values (API keys from the environment) from text bound for the log."""
        return self.guards.redact(text)

    def runner(self, *, concurrency: int | None = None,
               on_report: Callable[[TaskReport], None] | None = None,
               on_text: Callable[[str, str], None] | None = None, name: str | None = None) -> Runner:
        from masthead.runtime.runner import Runner

        rt = self.config.runtime
        return Runner(self.store, self.services(on_text), concurrency=concurrency or rt.concurrency,
                      lease_seconds=rt.lease_seconds, backoff_base=rt.backoff_base_seconds,
                      backoff_max=rt.backoff_max_seconds, poll_interval=rt.poll_interval_seconds,
                      ageing_seconds=rt.ageing_seconds, max_active=rt.max_active_jobs_per_project,
                      redact=self.redact, on_report=on_report, name=name,
                      snapshot_every=self.config.snapshots.every_events, snapshot_keep=self.config.snapshots.keep)

    def close(self) -> None:
        self.store.close()


def database_location(root: Path, database: str) -> str | Path:
    """A Postgres URL as it is, or the SQLite file (relative paths are inside the workspace)."""
    if is_postgres_url(database):
        return database
    path = Path(database)
    return path if path.is_absolute() else root / path


def open_database(root: Path, database: str, synchronous: str, *, create: bool, migrate: bool = True) -> EventStore:
    location = database_location(root, database)
    notify_when = None
    if is_postgres_url(location):  # only Postgres wakes workers (NOTIFY); SQLite spares the runtime import
        from masthead.runtime.worker import wakes_workers

        notify_when = wakes_workers
    return open_store(location, ReadModelProjector(), synchronous=synchronous, create=create,
                      migrate=migrate, notify_when=notify_when)


def database_settings(root: Path) -> tuple[Path, dict[str, Any], str, str]:
    """(config path, raw config, database, synchronous) of the workspace at `root`. The simple
    common case needs no pydantic; anything unusual in `[workspace]` is validated by its model,
    which names the field and the fix."""
    path = root / CONFIG_NAME
    raw = read_config(path)
    location = workspace_location(raw)
    if location is None:
        from masthead.config import validate_workspace_section

        section = validate_workspace_section(raw, path)
        location = (section.database, section.synchronous)
    return path, raw, *location


def open_workspace(explicit: str | None = None) -> Workspace:
    root = find_workspace(explicit)
    path, raw, database, synchronous = database_settings(root)
    store = open_database(root, database, synchronous, create=False)

    def config() -> MastheadConfig:
        from masthead.config import validate_config

        return validate_config(raw, path)

    return Workspace(root=root, config=config, store=store)


def init_workspace(folder: Path) -> tuple[Workspace, bool]:
    """Create masthead.toml and the database in `folder`; keep an existing config untouched."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder", fix="pass a folder path to `masthead init`")
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / CONFIG_NAME
    created = not config_path.exists()
    if created:
        config_path.write_text(config_template(), "utf-8")
    from masthead.config import load_config

    config = load_config(config_path)
    store = open_database(folder, config.workspace.database, config.workspace.synchronous, create=True)
    from masthead.app.auth import ensure_token

    ensure_token(folder)  # the operator token for `masthead serve`, kept outside the log
    return Workspace(root=folder, config=config, store=store), created
