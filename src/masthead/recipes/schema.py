"""Recipe schema: steps with `needs`, channel fan-out, tiers, retries and built-in actions.

A step is either an agent step (`agent: NAME`) or a built-in action (`action: check | gate |
ab_test | publish`). `for_each: channel` runs one instance per project channel (optionally limited by
`channels:`); a step that needs a fanned-out step waits for the instance of the same channel.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from masthead.channels.limits import CHANNELS, DOCUMENT_CHANNELS

Tier = Literal["draft", "final"]
# Gates from the least to the most strict.
GATE_STRICTNESS = ("auto", "soft", "hard")


def stricter_gate(gate: str, floor: str | None) -> str:
    """The stricter of a channel's gate and a recipe's `min_gate` (None: the channel's)."""
    return gate if floor is None else max(gate, floor, key=GATE_STRICTNESS.index)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Refinement(_Strict):
    agent: str = "refine"
    tier: Tier = "final"
    max_rounds: int = Field(1, ge=0, le=5)


class Step(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    agent: str | None = None
    action: Literal["check", "gate", "ab_test", "publish"] | None = None
    needs: list[str] = Field(default_factory=list)
    for_each: Literal["channel"] | None = None
    channels: list[str] | None = Field(None, description="limit a fan-out to these channels")
    tier: Tier = "draft"
    retries: int = Field(2, ge=0, le=20, description="extra tries after the first")
    # Below the default lease (300 s), so a step is given up before another worker may claim it.
    timeout_seconds: float = Field(240, gt=0)
    refine: Refinement | None = Field(None, description="check steps: refine failing drafts")

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        if (self.agent is None) == (self.action is None):
            raise ValueError(f"step {self.id!r} needs exactly one of `agent:` or `action:`")
        if self.channels is not None:
            if self.for_each != "channel":
                raise ValueError(f"step {self.id!r} has `channels:` but no `for_each: channel`")
            for channel in self.channels:
                if channel not in CHANNELS:
                    raise ValueError(f"step {self.id!r}: channel {channel!r} is unknown; use one of {', '.join(CHANNELS)}")
        if self.refine is not None and self.action != "check":
            raise ValueError(f"step {self.id!r}: `refine:` only belongs on an `action: check` step")
        if self.action in ("check", "gate", "ab_test", "publish") and self.for_each != "channel":
            raise ValueError(f"step {self.id!r}: action {self.action} works per piece; add `for_each: channel`")
        return self

    @property
    def kind(self) -> str:
        return "agent" if self.agent else str(self.action)


class Gather(_Strict):
    """A digest's material: the project's signals received in the `days` before the trigger."""

    days: int = Field(7, ge=1, le=92)
    signal_kinds: list[str] | None = Field(None, description="only these kinds; default every kind but the trigger's")
    max_signals: int = Field(12, ge=1, le=50, description="the most recent ones when there are more")


class Trigger(_Strict):
    signal_kinds: list[str] = Field(min_length=1)
    gather: Gather | None = Field(None, description="compose from the past days' signals instead of the trigger's body")


class Recipe(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9\-]{0,62}$")
    description: str = ""
    version: int = Field(1, ge=1)
    criticality: Literal["critical", "normal", "background"] | None = Field(
        None, description="overrides the criticality a signal's priority gives its jobs"
    )
    min_gate: Literal["soft", "hard"] | None = Field(
        None, description="the least strict gate this recipe's pieces get, whatever their channel's gate says"
    )
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _dag(self) -> Recipe:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice; give each step its own id")
            for need in step.needs:
                if need not in seen:
                    raise ValueError(
                        f"step {step.id!r} needs {need!r}, which is not an earlier step; "
                        "list steps in order and check the spelling"
                    )
            seen.add(step.id)
        return self

    def channels_for(self, project_channels: list[str]) -> list[str]:
        """The project's channels this recipe writes for: a document channel (a proposal) only
        when one of its steps names it, every other channel as before."""
        named = {channel for step in self.steps for channel in step.channels or ()}
        return [c for c in project_channels if c not in DOCUMENT_CHANNELS or c in named]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
