"""OpenAIProvider against a real loopback HTTP server speaking the OpenAI API."""

from __future__ import annotations

import email.utils
import json
import socket
import time
import traceback
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from tests.support.openai_server import OpenAIServer, Reply, usage_for

from masthead.errors import ProviderError
from masthead.providers.base import Chunk, Message, ModelRequest, Provider, Usage, collect
from masthead.providers.openai_provider import OpenAIProvider, retry_after_seconds

KEY = "sk-test"


def make_provider(
    server: OpenAIServer, *, api_key: str | None = KEY, timeout: float = 5.0
) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.base_url, api_key=api_key, timeout_seconds=timeout)


def make_request(**overrides: object) -> ModelRequest:
    fields: dict[str, object] = {
        "model": "gpt-4o-mini",
        "messages": (
            Message(role="system", content="You write headlines."),
            Message(role="user", content="A headline about tide pools, please."),
        ),
        "max_tokens": 64,
        "temperature": 0.3,
        "seed": 7,
    }
    fields.update(overrides)
    return ModelRequest.model_validate(fields)


def failure_of(provider: OpenAIProvider, request: ModelRequest | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        list(provider.stream(request or make_request()))
    return caught.value


def chat_calls(server: OpenAIServer) -> list[dict[str, object]]:
    return [c.body for c in server.calls if c.path == "/v1/chat/completions"]


def everything_printed_about(error: BaseException) -> str:
    """str, repr, fields and the full traceback (with chained exceptions) of an error."""
    parts = [
        str(error),
        repr(error),
        str(getattr(error, "message", "")),
        str(getattr(error, "fix", "")),
    ]
    parts.extend(traceback.format_exception(error))
    return "\n".join(parts)


# --- happy paths ---------------------------------------------------------------------------


def test_declares_the_provider_protocol_and_capabilities(openai_server: OpenAIServer) -> None:
    provider = make_provider(openai_server)
    assert isinstance(provider, Provider)
    assert provider.name == "openai"
    caps = provider.capabilities
    assert (caps.can_stream, caps.needs_key, caps.json_schema, caps.deterministic) == (
        True,
        True,
        True,
        False,
    )


def test_stream_yields_text_pieces_then_usage_and_finish(openai_server: OpenAIServer) -> None:
    scripted = "Tide pools hold whole cities at low water"
    openai_server.script(scripted)

    chunks = list(make_provider(openai_server).stream(make_request()))

    text_chunks = [c for c in chunks if c.text]
    assert len(text_chunks) > 1, "the reply should arrive in several pieces"
    assert "".join(c.text for c in text_chunks) == scripted
    final = chunks[-1]
    assert final == Chunk(text="", usage=final.usage, finish_reason="stop")
    assert all(c.usage is None for c in chunks[:-1])


def test_request_carries_the_model_settings_and_asks_for_usage(openai_server: OpenAIServer) -> None:
    request = make_request()
    list(make_provider(openai_server).stream(request))

    (body,) = chat_calls(openai_server)
    assert body["model"] == request.model
    assert body["messages"] == [{"role": m.role, "content": m.content} for m in request.messages]
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (64, 0.3, 7)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "response_format" not in body


def test_seed_none_is_left_out_of_the_request(openai_server: OpenAIServer) -> None:
    list(make_provider(openai_server).stream(make_request(seed=None)))
    (body,) = chat_calls(openai_server)
    assert "seed" not in body


def test_usage_comes_from_the_server_not_an_estimate(openai_server: OpenAIServer) -> None:
    scripted = "Small worlds, big tides: what a rock pool teaches about resilience"
    openai_server.script(scripted, scripted)
    provider = make_provider(openai_server)

    final = list(provider.stream(make_request()))[-1]
    response = collect(provider, make_request())

    body = chat_calls(openai_server)[0]
    served = usage_for(body, scripted)
    expected = Usage(
        input_tokens=served["prompt_tokens"], output_tokens=served["completion_tokens"]
    )
    # Checked on the raw stream: `collect` would paper over a missing usage with an estimate.
    assert final.usage == expected
    assert response.usage == expected
    assert response.text == scripted
    assert response.finish_reason == "stop"


def test_usage_is_none_when_the_endpoint_omits_it(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some OpenAI-compatible servers ignore stream_options; the provider must not invent numbers.
    import tests.support.openai_server as server_module

    real_events = server_module.stream_events

    def without_usage(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return (event for event in real_events(*args, **kwargs) if event["choices"])

    monkeypatch.setattr(server_module, "stream_events", without_usage)
    chunks = list(make_provider(openai_server).stream(make_request()))
    assert chunks[-1].usage is None
    assert chunks[-1].finish_reason == "stop"


def test_json_schema_request_sends_response_format_and_gets_valid_json(
    openai_server: OpenAIServer,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "headline": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["headline", "tags"],
    }
    request = make_request(json_schema=schema, schema_name="headline draft")

    response = collect(make_provider(openai_server), request)

    (body,) = chat_calls(openai_server)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "headline_draft", "schema": schema, "strict": False},
    }
    parsed = json.loads(response.text)
    assert isinstance(parsed["headline"], str)
    assert isinstance(parsed["tags"], list)


def test_streaming_with_pauses_delivers_pieces_as_they_arrive(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply.trickle("one two three four five", chunk_delay=0.08))
    arrivals: list[float] = []
    texts: list[str] = []

    for chunk in make_provider(openai_server, timeout=2.0).stream(make_request()):
        if chunk.text:
            arrivals.append(time.monotonic())
            texts.append(chunk.text)

    assert "".join(texts) == "one two three four five"
    assert len(texts) >= 3
    # Buffering the whole reply would deliver every piece at the same instant.
    assert arrivals[-1] - arrivals[0] >= 0.2


def test_key_can_come_from_the_named_environment_variable(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTHEAD_TEST_LLM_KEY", KEY)
    provider = OpenAIProvider(
        base_url=openai_server.base_url, api_key=None, api_key_env="MASTHEAD_TEST_LLM_KEY"
    )

    assert collect(provider, make_request()).text
    assert openai_server.calls[-1].bearer_matches


def test_check_key_passes_with_a_good_key(openai_server: OpenAIServer) -> None:
    make_provider(openai_server).check_key()
    call = openai_server.calls[-1]
    assert (call.method, call.path, call.bearer_matches) == ("GET", "/v1/models", True)


# --- failures ------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_is_transient_with_the_delay(
    openai_server: OpenAIServer,
) -> None:
    openai_server.script(Reply.error(429, retry_after="7"))
    error = failure_of(make_provider(openai_server))
    assert error.transient is True
    assert error.retry_after == 7.0
    assert "429" in error.message


def test_429_with_retry_after_http_date(openai_server: OpenAIServer) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    openai_server.script(Reply.error(429, retry_after=when))
    error = failure_of(make_provider(openai_server))
    assert error.transient is True
    assert error.retry_after is not None
    assert 25.0 <= error.retry_after <= 30.0


def test_429_without_retry_after_is_transient_with_no_delay(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply.error(429))
    error = failure_of(make_provider(openai_server))
    assert error.transient is True
    assert error.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(openai_server: OpenAIServer, status: int) -> None:
    openai_server.script(Reply.error(status))
    error = failure_of(make_provider(openai_server))
    assert error.transient is True
    assert str(status) in error.message


def test_the_sdk_does_not_retry_behind_the_runtimes_back(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply.error(503), Reply.error(429, retry_after="0"))
    provider = make_provider(openai_server)
    failure_of(provider)
    assert len(chat_calls(openai_server)) == 1
    assert openai_server.pending == 1


def test_400_is_permanent_and_carries_the_servers_message(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply.error(400, "max_tokens is too large: 999999"))
    error = failure_of(make_provider(openai_server))
    assert error.transient is False
    assert "max_tokens is too large: 999999" in error.message
    assert openai_server.base_url in error.message
    assert error.fix is not None and "[models.*]" not in error.fix


def test_a_400_saying_the_model_is_missing_also_points_at_the_models_setting(
    openai_server: OpenAIServer,
) -> None:
    # Ollama-style wording, sent with 400 rather than 404.
    openai_server.script(Reply.error(400, 'model "llama9" not found, try pulling it first'))
    error = failure_of(make_provider(openai_server), make_request(model="llama9"))
    assert error.transient is False
    assert error.fix is not None and "[models.*] model" in error.fix


def test_unknown_model_points_at_the_models_setting(openai_server: OpenAIServer) -> None:
    openai_server.script(
        Reply.error(404, "The model `gpt-nope` does not exist or you do not have access to it.")
    )
    error = failure_of(make_provider(openai_server), make_request(model="gpt-nope"))
    assert error.transient is False
    assert "gpt-nope" in error.message
    assert (
        error.fix is not None and "[models.*] model" in error.fix and "masthead.toml" in error.fix
    )


def test_401_is_permanent_names_the_variable_and_never_the_key(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply.error(401, f"Incorrect API key provided: {KEY}."))
    error = failure_of(make_provider(openai_server))

    assert error.transient is False
    assert openai_server.base_url in error.message
    assert "$OPENAI_API_KEY" in error.message
    assert error.fix is not None and "OPENAI_API_KEY" in error.fix
    assert KEY not in everything_printed_about(error)
    assert error.__cause__ is None and error.__context__ is None


def test_a_refused_key_is_not_leaked_even_though_the_server_echoes_it(
    openai_server: OpenAIServer,
) -> None:
    wrong_key = "sk-wrong-0123456789abcdef"
    # The loopback server quotes a refused key in full; prove it, so the check below has teeth.
    raw_client = openai.OpenAI(base_url=openai_server.base_url, api_key=wrong_key, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raw:
        raw_client.models.list()
    assert wrong_key in str(raw.value)

    provider = make_provider(openai_server, api_key=wrong_key)
    for attempt in (provider.check_key, lambda: list(provider.stream(make_request()))):
        with pytest.raises(ProviderError) as caught:
            attempt()
        assert caught.value.transient is False
        printed = everything_printed_about(caught.value)
        assert "refused the API key from $OPENAI_API_KEY" in printed
        assert wrong_key not in printed
        assert "0123456789abcdef" not in printed
    assert wrong_key not in repr(provider)
    assert all(c.bearer_present and not c.bearer_matches for c in openai_server.calls)


def test_missing_key_fails_before_any_request(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASTHEAD_TEST_UNSET_KEY", raising=False)
    provider = OpenAIProvider(
        base_url=openai_server.base_url, api_key=None, api_key_env="MASTHEAD_TEST_UNSET_KEY"
    )
    error = failure_of(provider)
    assert error.transient is False
    assert "$MASTHEAD_TEST_UNSET_KEY" in error.message
    assert openai_server.calls == []


def test_timeout_is_transient(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply.slow(3.0, "too late"))
    started = time.monotonic()
    error = failure_of(make_provider(openai_server, timeout=0.5))
    elapsed = time.monotonic() - started
    assert error.transient is True
    assert "0.5s" in error.message
    assert elapsed < 2.5, "the client should give up at its own timeout, not wait for the server"


def test_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAIProvider(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, timeout_seconds=2.0
    )
    error = failure_of(provider)
    assert error.transient is True
    assert f"127.0.0.1:{port}" in error.message


def test_server_history_never_stores_the_authorization_value(openai_server: OpenAIServer) -> None:
    list(make_provider(openai_server).stream(make_request()))
    call = openai_server.calls[-1]
    assert "authorization" not in call.headers
    assert KEY not in json.dumps(call.headers)
    assert call.bearer_present and call.bearer_matches


# --- Retry-After parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date_in_the_past_means_no_wait() -> None:
    now = 1_700_000_000.0
    assert (
        retry_after_seconds({"Retry-After": email.utils.formatdate(now - 60, usegmt=True)}, now=now)
        == 0.0
    )
    assert (
        retry_after_seconds({"Retry-After": email.utils.formatdate(now + 60, usegmt=True)}, now=now)
        == 60.0
    )
