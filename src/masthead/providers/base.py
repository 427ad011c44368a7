"""The provider port: one streaming method, declared capabilities, JSON-schema output.

A provider turns a `ModelRequest` into a stream of `Chunk`s, the last of which carries
`usage` and `finish_reason`. Providers know nothing of the event log; the runtime records
every call (see `providers.recording`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    role: str = Field(pattern="^(system|user|assistant)$")
    content: str


class ModelRequest(BaseModel):
    """Everything that determines a model's answer; its hash keys the call recording."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str
    messages: tuple[Message, ...]
    max_tokens: int = 512
    temperature: float = 0.2
    seed: int | None = 0
    # A JSON schema the output must satisfy; None means free text.
    json_schema: dict[str, Any] | None = None
    schema_name: str = "output"

    def request_hash(self, provider: str) -> str:
        body = {"provider": provider, **self.model_dump(mode="json")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Chunk:
    """A piece of streamed text; the final chunk has `usage` and `finish_reason` set."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class Capabilities:
    can_stream: bool = True
    needs_key: bool = False
    json_schema: bool = True
    # True when the same request always gives the same answer (seeded local models).
    deterministic: bool = False


@dataclass
class ModelResponse:
    text: str
    usage: Usage
    finish_reason: str | None
    latency_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """A model backend. `name` is the provider id used in masthead.toml (`local`, `openai`)."""

    name: str
    capabilities: Capabilities

    def stream(self, request: ModelRequest) -> Iterator[Chunk]:
        """Yield text chunks; the last chunk carries usage. Raise ProviderError on failure."""
        ...


def collect(provider: Provider, request: ModelRequest, on_text: Any = None) -> ModelResponse:
    """Drain a provider's stream into one response, timing it; `on_text(str)` sees each chunk."""
    import time

    started = time.perf_counter()
    parts: list[str] = []
    usage: Usage | None = None
    finish: str | None = None
    for chunk in provider.stream(request):
        if chunk.text:
            parts.append(chunk.text)
            if on_text is not None:
                on_text(chunk.text)
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.finish_reason is not None:
            finish = chunk.finish_reason
    latency_ms = (time.perf_counter() - started) * 1000.0
    text = "".join(parts)
    if usage is None:
        # Some endpoints omit usage in streams; estimate so the ledger is never blank.
        usage = Usage(
            input_tokens=sum(len(m.content) for m in request.messages) // 4,
            output_tokens=max(1, len(text) // 4),
        )
    return ModelResponse(text=text, usage=usage, finish_reason=finish, latency_ms=latency_ms)
