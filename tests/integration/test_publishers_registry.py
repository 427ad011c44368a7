"""Publisher registration (entry points, built-in fallback), their config tables and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict
from tests.support.bluesky_server import BlueskyServer
from tests.support.harness import write_config
from tests.support.mastodon_server import MastodonServer
from tests.support.publishing import (
    BLUESKY_PASSWORD_ENV,
    MASTODON_TOKEN_ENV,
    bluesky_table,
    mastodon_table,
)

from masthead.app.workspace import init_workspace
from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    Delivery,
    Limits,
    PublisherContext,
    Receipt,
)
from masthead.channels.publishers.registry import BUILTIN, GROUP, build_publisher, publisher_kinds
from masthead.config import PublisherSection, load_config
from masthead.errors import ConfigError
from masthead.projects import ChannelSettings

ROOT = Path(__file__).resolve().parents[2]


class EchoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    prefix: str


class EchoPublisher:
    """What a separate package would ship: a class named by an entry point."""

    kind: ClassVar[str] = "echo"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY)
    settings_model: ClassVar[type[EchoSettings]] = EchoSettings

    def __init__(self, name: str, prefix: str):
        self.name, self.prefix = name, prefix

    @classmethod
    def from_settings(cls, settings: EchoSettings, context: PublisherContext) -> EchoPublisher:
        return cls(context.name, settings.prefix)

    def publish(self, delivery: Delivery) -> Receipt:
        return Receipt(location=f"{self.prefix}{delivery.key}")

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        return None

    def retract(self, receipt: Receipt) -> None:
        pass

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        return "echo"


ECHO = EntryPoint(name="echo", value=f"{__name__}:EchoPublisher", group=GROUP)


def test_a_plugin_registers_through_the_entry_point_group(tmp_path):
    kinds = publisher_kinds([ECHO])
    assert kinds["echo"] == f"{__name__}:EchoPublisher" and kinds["mastodon"] == BUILTIN["mastodon"]
    publisher = build_publisher("shout", PublisherSection(kind="echo", prefix="> "), tmp_path, {}, kinds)
    assert publisher.name == "shout"
    assert publisher.publish(Delivery("k1", "pc", 1, "x", "p", "t", None, "2026-12-07T00:00:00Z")).location == "> k1"


def test_a_plugin_validates_its_own_table(tmp_path):
    with pytest.raises(ConfigError, match=r"\[publishers.shout\]: prefix: Field required"):
        build_publisher("shout", PublisherSection(kind="echo"), tmp_path, {}, publisher_kinds([ECHO]))


def test_an_entry_point_replaces_a_built_in_of_the_same_kind(tmp_path):
    override = EntryPoint(name="mastodon", value=f"{__name__}:EchoPublisher", group=GROUP)
    assert publisher_kinds([override])["mastodon"] == f"{__name__}:EchoPublisher"


def test_without_entry_point_metadata_the_built_ins_are_still_found():
    assert publisher_kinds([]) == BUILTIN


def test_pyproject_declares_every_built_in_in_the_group():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    assert declared == BUILTIN


def test_an_unknown_kind_names_the_installed_ones(tmp_path):
    with pytest.raises(ConfigError, match="publisher kind 'carrier-pigeon' is not installed.*bluesky, feed, file"):
        build_publisher("bird", PublisherSection(kind="carrier-pigeon"), tmp_path, {}, publisher_kinds([]))


def _config(tmp_path: Path, table: str):
    (tmp_path / "masthead.toml").write_text(table)
    return load_config(tmp_path / "masthead.toml", environ={})


def test_a_token_pasted_instead_of_a_variable_name_is_refused_without_echoing_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, '[publishers.m]\nkind = "mastodon"\nbase_url = "https://m.example"\ntoken_env = "abc.def-123"\n')
    assert "token_env: must be the NAME of an environment variable" in str(caught.value)


def test_a_missing_key_of_a_built_in_table_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"\[publishers.sky\]: handle: Field required"):
        _config(tmp_path, '[publishers.sky]\nkind = "bluesky"\napp_password_env = "BSKY"\n')


def test_old_project_specs_with_one_publisher_still_read():
    assert ChannelSettings.model_validate({"gate": "auto", "publisher": "file"}).publish_to == ["file"]
    assert ChannelSettings().publish_to == ["file"]
    with pytest.raises(ValueError, match="publish_to only"):
        ChannelSettings.model_validate({"publisher": "file", "publish_to": ["file"]})
    with pytest.raises(ValueError, match="twice"):
        ChannelSettings.model_validate({"publish_to": ["file", "file"]})


def test_publishers_check_names_the_credential_to_renew_and_never_prints_a_secret(tmp_path):
    with MastodonServer(token="good-mastodon-token") as mastodon, BlueskyServer(password="right-pass") as pds:
        write_config(tmp_path, "http://127.0.0.1:9/v1")
        with (tmp_path / "masthead.toml").open("a") as config:
            config.write("\n" + mastodon_table(mastodon.base_url) + "\n" + bluesky_table(pds.base_url, pds.handle))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
               MASTODON_TOKEN_ENV: "good-mastodon-token", BLUESKY_PASSWORD_ENV: "wrong-pass-xyz"}
        run = [sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path)]
        init_workspace(tmp_path)[0].close()
        listed = subprocess.run([*run, "publishers", "list", "--json"], env=env, capture_output=True, text=True)
        assert listed.returncode == 0, listed.stderr
        assert [(r["name"], r["kind"], r["credential_env"]) for r in json.loads(listed.stdout)] == [
            ("bluesky", "bluesky", BLUESKY_PASSWORD_ENV), ("file", "file", None), ("mastodon", "mastodon", MASTODON_TOKEN_ENV)]
        checked = subprocess.run([*run, "publishers", "check", "--json"], env=env, capture_output=True, text=True)
        assert checked.returncode == 1
        rows = {r["name"]: r for r in json.loads(checked.stdout)}
        assert rows["mastodon"]["ok"] and "@tallybook" in rows["mastodon"]["detail"]
        assert not rows["bluesky"]["ok"] and rows["bluesky"]["renew"] == BLUESKY_PASSWORD_ENV
        one = subprocess.run([*run, "publishers", "check", "bluesky"], env=env, capture_output=True, text=True)
        assert one.returncode == 1 and BLUESKY_PASSWORD_ENV in one.stdout and "Traceback" not in one.stderr
        for output in (listed.stdout, checked.stdout, checked.stderr, one.stdout, one.stderr):
            assert "good-mastodon-token" not in output and "wrong-pass-xyz" not in output
