"""Build the embedder that `[memory]` names, once per process.

Loading the ONNX model (checksum, session) takes a moment and some memory, so every workspace
and worker thread of a process shares one instance per configuration.
"""

from __future__ import annotations

import os
import threading

from masthead.config import MemorySection
from masthead.errors import ConfigError
from masthead.memory.embedder import Embedder

_BUILT: dict[tuple[str, ...], Embedder] = {}
_LOCK = threading.Lock()


def embedder_for(settings: MemorySection, environ: dict[str, str] | None = None) -> Embedder:
    environ = dict(os.environ) if environ is None else environ
    if settings.embedder == "onnx":
        key: tuple[str, ...] = ("onnx",)
    else:
        section = settings.openai
        api_key = environ.get(section.api_key_env)
        if not api_key:
            raise ConfigError(
                f"environment variable {section.api_key_env} is not set, so the openai embedder has no key",
                fix=f"export {section.api_key_env}=... or change [memory.openai] api_key_env in masthead.toml",
            )
        # The key is part of the cache key (a new key means a new client) but never printed.
        key = ("openai", section.base_url, section.model, section.api_key_env, str(section.timeout_seconds), api_key)
    with _LOCK:
        if key not in _BUILT:
            _BUILT[key] = _build(settings, key)
        return _BUILT[key]


def configured_model_id(settings: MemorySection) -> str:
    """The model id the configured embedder will report, without loading it."""
    if settings.embedder == "onnx":
        from masthead.memory.onnx_embedder import MODEL_ID

        return MODEL_ID
    return f"openai:{settings.openai.model}"


def _build(settings: MemorySection, key: tuple[str, ...]) -> Embedder:
    if key[0] == "onnx":
        from masthead.memory.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder()
    from masthead.memory.openai_embedder import OpenAIEmbedder

    section = settings.openai
    return OpenAIEmbedder(base_url=section.base_url, model=section.model, api_key=key[-1],
                          api_key_env=section.api_key_env, timeout_seconds=section.timeout_seconds)
