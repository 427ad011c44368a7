"""The agent registry. Built-in agents register exactly as a user's own would: `register(cls)`."""

from __future__ import annotations

from masthead.agents.base import Agent
from masthead.errors import NotFoundError

_AGENTS: dict[str, type] = {}


def register(agent_class: type) -> type:
    _AGENTS[agent_class.name] = agent_class  # type: ignore[attr-defined]
    return agent_class


def _load_builtins() -> None:
    # Imported for their register() side effect; kept here so `agent_names()` is always complete.
    from masthead.agents import brief, draft, hooks, refine, subject_lines, summarise  # noqa: F401


def agent_names() -> set[str]:
    _load_builtins()
    return set(_AGENTS)


def get_agent(name: str) -> Agent:
    _load_builtins()
    if name not in _AGENTS:
        raise NotFoundError(f"agent {name!r} does not exist", fix=f"use one of: {', '.join(sorted(_AGENTS))}")
    agent: Agent = _AGENTS[name]()
    return agent
