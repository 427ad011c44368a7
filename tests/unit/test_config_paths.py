"""Paths in masthead.toml mean the same thing from whichever folder a command runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.config import load_config


def test_a_relative_local_model_path_is_the_workspaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "masthead.toml").write_text('[providers.local]\nmodel_path = "models/tiny.gguf"\n')
    monkeypatch.chdir(tmp_path)  # somewhere else than the workspace
    config = load_config(tmp_path / "ws" / "masthead.toml", environ={})
    assert config.providers.local.model_path == str(tmp_path / "ws" / "models" / "tiny.gguf")


def test_absolute_home_and_empty_model_paths_are_kept(tmp_path: Path):
    for given, expected in (("/models/tiny.gguf", "/models/tiny.gguf"), ("", ""),
                            ("~/tiny.gguf", str(Path("~/tiny.gguf").expanduser()))):
        (tmp_path / "masthead.toml").write_text(f'[providers.local]\nmodel_path = "{given}"\n')
        assert load_config(tmp_path / "masthead.toml", environ={}).providers.local.model_path == expected
