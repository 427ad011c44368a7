"""Identifiers. Task and piece ids derive from their job so a re-run finds the same ones."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def task_id(job_id: str, step: str, channel: str | None) -> str:
    return f"{job_id}.{step}" if channel is None else f"{job_id}.{step}.{channel}"


def piece_id(job_id: str, channel: str) -> str:
    return "pc-" + hashlib.sha256(f"{job_id}/{channel}".encode()).hexdigest()[:10]


def publication_key(piece: str, version: int, channel: str) -> str:
    return f"{piece}:v{version}:{channel}"
