"""Request bodies of the JSON API. Limits mirror the commands' own, so bad input is refused
before anything runs; the commands check again and name the field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from masthead.app.commands import MAX_SIGNAL_BYTES

# Offsets, seqs and versions fit SQLite's 64-bit integers with room to spare.
MAX_OFFSET = 2**53

OPERATOR_FIELD = Field(
    None, pattern=r"^[A-Za-z0-9_.@\-]{1,64}$",
    description="recorded as human:<operator>; default: the token's or session's person. Another user only"
                " with the operator token (their role applies); a user's token acts only as its user",
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignalIn(_Body):
    project: str = Field(min_length=1, max_length=64)
    kind: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$", examples=["release_notes"])
    body: str = Field(min_length=1, max_length=MAX_SIGNAL_BYTES)
    title: str | None = Field(None, max_length=200)
    priority: Literal["high", "normal", "low"] = "normal"
    person: str | None = Field(None, max_length=320, examples=["clara@client.example"],
                               description="the email address of the person the signal is about (a client's brief):"
                                           " its title and body are sealed with their key; forget-person erases them")


class ApproveIn(_Body):
    version: int | None = Field(None, ge=1, le=MAX_OFFSET, description="the version you read; refused if the piece moved on")
    operator: str | None = OPERATOR_FIELD
    at: str | None = Field(None, max_length=40, description='publish at this time, "YYYY-MM-DD HH:MM" in the project'
                           " time zone; on an approved piece, moves it")
    next_slot: bool = Field(False, description="publish at the channel's next free slot")


class SettleIn(_Body):
    outcome: Literal["published", "not_published"]
    url: str | None = Field(None, max_length=2000, description="where it is published (outcome published)")
    note: str | None = Field(None, max_length=2000)
    operator: str | None = OPERATOR_FIELD


class RejectIn(_Body):
    reason: str = Field(min_length=1, max_length=2000)
    operator: str | None = OPERATOR_FIELD


class EditIn(_Body):
    text: str = Field(min_length=1, max_length=MAX_SIGNAL_BYTES)
    subject: str | None = Field(None, max_length=300)
    operator: str | None = OPERATOR_FIELD


class RefineIn(_Body):
    note: str = Field("", max_length=2000, description="what the refinement should change")
    operator: str | None = OPERATOR_FIELD


class CompleteIn(_Body):
    text: str = Field(min_length=1, max_length=MAX_SIGNAL_BYTES,
                      description="the step's output: a piece's text, or JSON of the agent's output")
    operator: str | None = OPERATOR_FIELD


class RevertIn(_Body):
    to_version: int = Field(ge=1, le=MAX_OFFSET, description="the version to bring back as a new version")
    operator: str | None = OPERATOR_FIELD


class RetryIn(_Body):
    reason: str = Field(min_length=1, max_length=2000, description="what was fixed; kept in the log")
    operator: str | None = OPERATOR_FIELD


class ReopenIn(_Body):
    reason: str = Field(min_length=1, max_length=2000)
    operator: str | None = OPERATOR_FIELD


class UndoIn(_Body):
    seq: int | None = Field(None, ge=1, le=MAX_OFFSET,
                            description="the action's seq (GET /api/v1/undo names it); default: your last action")
    operator: str | None = OPERATOR_FIELD
