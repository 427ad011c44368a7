"""The [memory] section of masthead.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.config import MastheadConfig, load_config
from masthead.errors import ConfigError


def test_defaults_work_offline() -> None:
    memory = MastheadConfig().memory
    assert memory.embedder == "onnx"
    assert memory.half_life_days.exemplar > memory.half_life_days.piece
    assert memory.project_budget_tokens > 0 and 0 < memory.score_floor < 1


def test_keys_are_read_and_environment_overrides_them(tmp_path: Path) -> None:
    path = tmp_path / "masthead.toml"
    path.write_text('[memory]\nembedder = "openai"\nvoice_threshold = 0.4\n[memory.half_life_days]\nfact = 10.0\n')
    config = load_config(path, environ={"MASTHEAD__MEMORY__PROJECT_BUDGET_TOKENS": "900"})
    assert config.memory.embedder == "openai" and config.memory.voice_threshold == 0.4
    assert config.memory.half_life_days.fact == 10.0 and config.memory.project_budget_tokens == 900


@pytest.mark.parametrize(("toml", "problem"), [
    ('[memory]\nembedder = "torch"\n', "memory.embedder"),
    ('[memory.openai]\napi_key_env = "sk-live-123"\n', "NAME of an environment variable"),
    ("[memory.half_life_days]\npiece = 0\n", "memory.half_life_days.piece"),
    ("[memory]\nunknown = 1\n", "unknown key"),
])
def test_bad_values_are_refused_with_the_key(tmp_path: Path, toml: str, problem: str) -> None:
    path = tmp_path / "masthead.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=problem):
        load_config(path, environ={})
