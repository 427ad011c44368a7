"""The recording model client: every call is in the log before its result is used.

A call's key is the task's idempotency key + the request hash + how many identical requests
the step made before it. A re-run of the step (after a crash or a retry) finds its recorded
calls by those keys and reuses them, so no recorded call is ever paid for twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from masthead.config import MastheadConfig
from masthead.errors import MastheadError
from masthead.events.model import Meta, utc_now
from masthead.events.store import EventStore
from masthead.events.types import ModelCallRecorded
from masthead.providers.base import Message, ModelRequest, collect
from masthead.providers.registry import ProviderSet

T = TypeVar("T", bound=BaseModel)

# How many differently-seeded tries an agent gets to produce output that fits its schema.
SCHEMA_TRIES = 3


class AgentOutputError(MastheadError):
    """The model's answers never matched the agent's output schema."""


class RecordingModelClient:
    def __init__(
        self,
        *,
        store: EventStore,
        config: MastheadConfig,
        providers: ProviderSet,
        tier: str,
        task_id: str,
        job_id: str,
        scope: str,
        actor: str,
        on_text: Callable[[str], None] | None = None,
    ):
        self._store = store
        self._config = config
        self._providers = providers
        self._tier = tier
        self._task_id = task_id
        self._job_id = job_id
        self._scope = scope
        self._actor = actor
        self._on_text = on_text
        self._seen: dict[str, int] = {}
        self.call_keys: list[str] = []
        self.reused = 0

    def generate(self, messages: list[Message], schema: type[T], *, max_tokens: int | None = None) -> T:
        tier = self._config.models[self._tier]
        json_schema = schema.model_json_schema()
        problem = ""
        for attempt in range(SCHEMA_TRIES):
            request = ModelRequest(
                model=tier.model,
                messages=tuple(messages),
                max_tokens=max_tokens or tier.max_tokens,
                temperature=tier.temperature,
                seed=attempt,
                json_schema=json_schema,
                schema_name=schema.__name__,
            )
            text = self.call(tier.provider, request)
            try:
                return schema.model_validate_json(_strip_fences(text))
            except ValidationError as exc:
                problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors()[:3])
        raise AgentOutputError(
            f"the {self._tier} model's output did not fit {schema.__name__} after {SCHEMA_TRIES} tries ({problem})",
            fix="use a stronger model for this tier in masthead.toml, or finish the step by hand",
        )

    def call(self, provider_id: str, request: ModelRequest) -> str:
        request_hash = request.request_hash(provider_id)
        ordinal = self._seen.get(request_hash, 0)
        self._seen[request_hash] = ordinal + 1
        call_key = hashlib.sha256(f"{self._scope}|{request_hash}|{ordinal}".encode()).hexdigest()
        self.call_keys.append(call_key)
        recorded = self._store.query("SELECT output FROM model_calls WHERE call_key = ?", (call_key,))
        if recorded:
            self.reused += 1
            return str(recorded[0]["output"])
        provider = self._providers.get(provider_id)
        response = collect(provider, request, self._on_text)
        price = self._config.price(provider_id, request.model)
        cost = (response.usage.input_tokens * price.input_per_million
                + response.usage.output_tokens * price.output_per_million) / 1_000_000
        event = ModelCallRecorded(
            call_key=call_key,
            task_id=self._task_id,
            job_id=self._job_id,
            request_hash=request_hash,
            provider=provider_id,
            model=request.model,
            tier=self._tier,
            params={"max_tokens": request.max_tokens, "temperature": request.temperature,
                    "seed": request.seed, "schema": request.schema_name},
            output=response.text,
            tokens_in=response.usage.input_tokens,
            tokens_out=response.usage.output_tokens,
            latency_ms=round(response.latency_ms, 3),
            cost_usd=round(cost, 8),
        )
        self._store.append(
            [event.to_new(f"calls-{self._task_id}")],
            Meta(actor=self._actor, at=utc_now(), causation_id=self._task_id, correlation_id=self._job_id),
        )
        return response.text


def _strip_fences(text: str) -> str:
    """Some endpoints wrap JSON in ``` fences even when asked for JSON; take what is inside."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    start, end = stripped.find("{"), stripped.rfind("}")
    if start > 0 and end > start:
        try:
            json.loads(stripped[start : end + 1])
            return stripped[start : end + 1]
        except ValueError:
            pass
    return stripped
