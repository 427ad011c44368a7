"""Agents by name, found through the entry-point group `masthead.agents` (see masthead/plugins.py).

A plugin package declares its agents as the built-ins are declared in pyproject.toml:

    [project.entry-points."masthead.agents"]
    brief = "masthead.agents.brief:BriefAgent"

A program that embeds Masthead (and a test) may also `register(cls)` an agent class directly.
"""

from __future__ import annotations

from masthead.agents.base import Agent
from masthead.errors import NotFoundError
from masthead.plugins import AGENTS, load, named

BUILTIN: dict[str, str] = {
    "brief": "masthead.agents.brief:BriefAgent",
    "draft": "masthead.agents.draft:DraftAgent",
    "hooks": "masthead.agents.hooks:HooksAgent",
    "legal_review": "masthead.agents.legal_review:LegalReviewAgent",
    "proposal": "masthead.agents.proposal:ProposalAgent",
    "outreach": "masthead.agents.outreach:OutreachAgent",
    "refine": "masthead.agents.refine:RefineAgent",
    "requirements": "masthead.agents.requirements:RequirementsAgent",
    "subject_lines": "masthead.agents.subject_lines:SubjectLinesAgent",
    "summarise": "masthead.agents.summarise:SummariseAgent",
}

_REGISTERED: dict[str, type] = {}


def register(agent_class: type) -> type:
    """Add an agent class in-process; it wins over an entry point of the same name."""
    _REGISTERED[agent_class.name] = agent_class  # type: ignore[attr-defined]
    return agent_class


def agent_names() -> set[str]:
    return set(named(AGENTS, BUILTIN)) | set(_REGISTERED)


def agent_class(name: str) -> type:
    if name in _REGISTERED:
        return _REGISTERED[name]
    targets = named(AGENTS, BUILTIN)
    if name not in targets:
        raise NotFoundError(f"agent {name!r} does not exist", fix=f"use one of: {', '.join(sorted(agent_names()))}")
    cls: type = load(targets[name])
    return cls


def get_agent(name: str) -> Agent:
    agent: Agent = agent_class(name)()
    return agent
