"""Providers, agents and publishers come from entry points: an installed package adds one
without touching Masthead. The package here is real: a module and a dist-info folder with its
entry_points.txt on sys.path of a fresh interpreter, as pip would install it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from masthead.agents.registry import BUILTIN as BUILTIN_AGENTS
from masthead.agents.registry import agent_class
from masthead.channels.publishers.registry import BUILTIN as BUILTIN_PUBLISHERS
from masthead.plugins import AGENTS, PROVIDERS, PUBLISHERS
from masthead.providers.registry import BUILTIN as BUILTIN_PROVIDERS
from masthead.providers.registry import provider_factory

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

PLUGIN = '''
from masthead.agents.draft import DraftAgent
from masthead.providers.registry import local_provider


class ShoutAgent(DraftAgent):
    name = "shout"


def shout_provider(config, environ):
    return local_provider(config, environ)
'''

ENTRY_POINTS = """\
[masthead.agents]
shout = masthead_shout:ShoutAgent

[masthead.providers]
shouty = masthead_shout:shout_provider
"""

PROBE = """
import json
from masthead.agents.registry import agent_names, get_agent
from masthead.config import MastheadConfig
from masthead.providers.registry import provider_factory
config = MastheadConfig.model_validate({"models": {"draft": {"provider": "shouty", "model": "m"},
                                                   "final": {"provider": "local", "model": "m"}}})
print(json.dumps({"agents": sorted(agent_names()), "agent": type(get_agent("shout")).__name__,
                  "provider": provider_factory("shouty").__name__, "tier": config.models["draft"].provider}))
"""


def install_plugin(folder: Path) -> None:
    (folder / "masthead_shout.py").write_text(PLUGIN, "utf-8")
    info = folder / "masthead_shout-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: masthead-shout\nVersion: 0.1\n", "utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, "utf-8")


def test_an_installed_package_adds_an_agent_and_a_provider(tmp_path):
    install_plugin(tmp_path)
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False,
                          env={"PYTHONPATH": f"{tmp_path}:{src}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert "shout" in seen["agents"] and set(BUILTIN_AGENTS) <= set(seen["agents"])
    assert seen["agent"] == "ShoutAgent" and seen["provider"] == "shout_provider" and seen["tier"] == "shouty"


def test_an_unknown_provider_is_refused_with_the_known_ones(tmp_path):
    from masthead.config import MastheadConfig

    try:
        MastheadConfig.model_validate({"models": {"draft": {"provider": "nosuch", "model": "m"},
                                                  "final": {"provider": "local", "model": "m"}}})
    except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, message checked below
        assert "nosuch" in str(exc) and "local" in str(exc) and "openai" in str(exc)
    else:
        raise AssertionError("an unknown provider id was accepted")


def test_every_builtin_is_declared_as_an_entry_point_and_loads():
    """pyproject.toml and the BUILTIN tables agree, and each target is what its name says."""
    declared = PYPROJECT.read_text("utf-8")
    for group, table in ((AGENTS, BUILTIN_AGENTS), (PROVIDERS, BUILTIN_PROVIDERS), (PUBLISHERS, BUILTIN_PUBLISHERS)):
        assert f'[project.entry-points."{group}"]' in declared
        for name, target in table.items():
            assert f'{name} = "{target}"' in declared, (group, name)
    for name in BUILTIN_AGENTS:
        assert agent_class(name).name == name  # type: ignore[attr-defined]
    for name in BUILTIN_PROVIDERS:
        assert callable(provider_factory(name))
