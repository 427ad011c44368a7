"""OpenAI-compatible chat completions (OpenAI itself, vLLM, llama.cpp server, Ollama...).

Talks through the official `openai` SDK with its own retries switched off: retrying is the
runtime's decision, so every failure comes back at once as a `ProviderError` whose
`transient` flag says whether a retry may help. The API key never appears in an error.
"""

from __future__ import annotations

import email.utils
import os
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from masthead.errors import ProviderError
from masthead.providers.base import Capabilities, Chunk, ModelRequest, Usage

# The SDK's own retry policy treats these as worth retrying; so do we.
_TRANSIENT_STATUSES = frozenset({408, 409, 429})
_AUTH_STATUSES = frozenset({401, 403})
_SERVER_FAULTS = frozenset({"server_error", "internal_error"})
# How OpenAI, vLLM and Ollama word an unknown model ("The model `x` does not exist",
# "model \"x\" not found"); other 400s that merely mention "model" are not this.
_MODEL_MISSING = re.compile(
    r"model\b.*\b(does not exist|not found)|unknown model|no such model", re.I
)
# "Leave this field out of the request": `omit` in current SDKs, `NOT_GIVEN` in older ones.
_OMIT: Any = getattr(openai, "omit", openai.NOT_GIVEN)


class OpenAIProvider:
    """A `Provider` for any endpoint that speaks OpenAI's chat-completions API."""

    capabilities = Capabilities(
        can_stream=True, needs_key=True, json_schema=True, deterministic=False
    )

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_seconds: float = 60.0,
        name: str = "openai",
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_seconds = timeout_seconds
        self._api_key = api_key or os.environ.get(api_key_env) or None
        self._client: openai.OpenAI | None = None

    def __repr__(self) -> str:
        # Spelled out so the key can never reach a log through a default repr.
        return f"OpenAIProvider(name={self.name!r}, base_url={self.base_url!r}, api_key_env={self.api_key_env!r})"

    # --- the Provider protocol --------------------------------------------------------

    def stream(self, request: ModelRequest) -> Iterator[Chunk]:
        # The ProviderError is raised after the `except` block ends so that, for refused
        # keys, the SDK exception is not even attached as implicit `__context__`.
        try:
            events = self._client_or_raise().chat.completions.create(
                model=request.model,
                messages=_messages(request),
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=request.seed if request.seed is not None else _OMIT,
                stream=True,
                stream_options={"include_usage": True},
                response_format=_response_format(request),
            )
            with events:  # releases the connection if the caller stops reading early
                yield from _chunks_from(events)
            return
        except openai.APIError as exc:
            failure, cause = self._translate(exc), _cause_to_keep(exc)
        raise failure from cause

    def check_key(self) -> None:
        """Ask the endpoint for its model list; raise the same ProviderError a refused key
        (or an unreachable endpoint) would raise during a real call."""
        try:
            self._client_or_raise().models.list()
            return
        except openai.APIError as exc:
            failure, cause = self._translate(exc), _cause_to_keep(exc)
        raise failure from cause

    # --- plumbing ------------------------------------------------------------------------

    def _client_or_raise(self) -> openai.OpenAI:
        if self._client is None:
            if not self._api_key:
                raise ProviderError(
                    f"no API key for the endpoint {self.base_url}: ${self.api_key_env} is not set",
                    fix=f"export {self.api_key_env}=<your key>, or name the variable that holds it "
                    f"in [providers.{self.name}] api_key_env in masthead.toml",
                )
            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                timeout=self.timeout_seconds,
                max_retries=0,  # retries belong to the runtime, which records each attempt
            )
        return self._client

    def _translate(self, exc: openai.APIError) -> ProviderError:
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(
                f"the endpoint {self.base_url} did not answer within {self.timeout_seconds:g}s",
                transient=True,
                fix=f"retry later, or raise timeout_seconds for [providers.{self.name}] in masthead.toml",
            )
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError(
                f"could not connect to the endpoint {self.base_url}",
                transient=True,
                fix=f"check the server is running and [providers.{self.name}] base_url in masthead.toml",
            )
        if isinstance(exc, openai.APIStatusError):
            return self._translate_status(exc)
        # An error event inside an otherwise healthy stream.
        return ProviderError(
            f"the endpoint {self.base_url} reported an error mid-stream: {self._server_message(exc)}",
            transient=_looks_like_server_fault(exc),
        )

    def _translate_status(self, exc: openai.APIStatusError) -> ProviderError:
        status = exc.status_code
        if status in _AUTH_STATUSES:
            # The server's own message is deliberately dropped: real endpoints echo part
            # of the key ("Incorrect API key provided: sk-ab***yz").
            return ProviderError(
                f"the endpoint {self.base_url} refused the API key from ${self.api_key_env} (HTTP {status})",
                fix=f"set ${self.api_key_env} to a valid key for this endpoint "
                "(check it has not expired, been revoked or lacks access)",
            )
        message = self._server_message(exc)
        if status == 429:
            return ProviderError(
                f"the endpoint {self.base_url} is rate limiting requests (HTTP 429): {message}",
                transient=True,
                retry_after=retry_after_seconds(exc.response.headers),
                fix="wait and retry, or lower the request rate",
            )
        if status >= 500 or status in _TRANSIENT_STATUSES:
            return ProviderError(
                f"the endpoint {self.base_url} failed (HTTP {status}): {message}",
                transient=True,
                retry_after=retry_after_seconds(exc.response.headers),
                fix="retry later; the fault is on the server's side",
            )
        return ProviderError(
            f"the endpoint {self.base_url} rejected the request (HTTP {status}): {message}",
            fix=self._rejection_fix(exc, message),
        )

    def _rejection_fix(self, exc: openai.APIStatusError, message: str) -> str:
        if (
            exc.code == "model_not_found"
            or exc.status_code == 404
            or _MODEL_MISSING.search(message)
        ):
            return (
                "check that [models.*] model in masthead.toml names a model this endpoint serves "
                f"(GET {self.base_url}/models lists them)"
            )
        return "check the request settings for this model in masthead.toml"

    def _server_message(self, exc: openai.APIError) -> str:
        body = exc.body
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            body = body["error"]
        text = body.get("message") if isinstance(body, Mapping) else None
        return self._redact(str(text) if text else exc.message)

    def _redact(self, text: str) -> str:
        # Belt and braces: a server may echo the key in any message.
        return text.replace(self._api_key, "[redacted]") if self._api_key else text


# --- request and response shapes --------------------------------------------------------


def _messages(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    return [
        cast(ChatCompletionMessageParam, {"role": m.role, "content": m.content})
        for m in request.messages
    ]


def _response_format(request: ModelRequest) -> Any:
    if request.json_schema is None:
        return _OMIT
    return {
        "type": "json_schema",
        "json_schema": {
            "name": _schema_name(request.schema_name),
            "schema": request.json_schema,
            # Strict mode rejects common schemas (optional fields, open objects); the
            # runtime validates the output itself.
            "strict": False,
        },
    }


def _schema_name(name: str) -> str:
    # OpenAI accepts ^[a-zA-Z0-9_-]{1,64}$ here.
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "output"


def _chunks_from(events: Iterator[ChatCompletionChunk]) -> Iterator[Chunk]:
    """Text per content delta, then one closing chunk with usage and finish reason.
    The usage arrives on a final choice-less event (`stream_options.include_usage`)."""
    usage: Usage | None = None
    finish_reason: str | None = None
    for event in events:
        if event.usage is not None:
            usage = Usage(
                input_tokens=event.usage.prompt_tokens, output_tokens=event.usage.completion_tokens
            )
        for choice in event.choices:
            if choice.delta.content:
                yield Chunk(text=choice.delta.content)
            if choice.finish_reason is not None:
                finish_reason = choice.finish_reason
    yield Chunk(usage=usage, finish_reason=finish_reason)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        millis = _as_float(lowered["retry-after-ms"])
        if millis is not None:
            return max(0.0, millis / 1000.0)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _as_float(raw)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _looks_like_server_fault(exc: openai.APIError) -> bool:
    return exc.type in _SERVER_FAULTS or exc.code in _SERVER_FAULTS


def _cause_to_keep(exc: openai.APIError) -> BaseException | None:
    # Auth failures drop the SDK exception from the chain: its text quotes the server,
    # which may quote the key, and tracebacks print chained exceptions. Other failures
    # keep it as `__cause__` for debugging.
    if isinstance(exc, openai.APIStatusError) and exc.status_code in _AUTH_STATUSES:
        return None
    return exc
