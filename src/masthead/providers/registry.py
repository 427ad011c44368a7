"""Build providers from masthead.toml. Built-ins register here the way a plugin would."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from masthead.config import KNOWN_PROVIDERS, MastheadConfig
from masthead.errors import ConfigError, NotFoundError
from masthead.providers.base import Provider

ProviderFactory = Callable[[MastheadConfig, dict[str, str]], Provider]
_FACTORIES: dict[str, ProviderFactory] = {}


def register_provider(provider_id: str, factory: ProviderFactory) -> None:
    _FACTORIES[provider_id] = factory
    KNOWN_PROVIDERS.add(provider_id)


def _local(config: MastheadConfig, environ: dict[str, str]) -> Provider:
    from masthead.providers.local import LocalProvider

    section = config.providers.local
    return LocalProvider(model_path=section.model_path or None, n_ctx=section.n_ctx, n_threads=section.n_threads)


def _openai(config: MastheadConfig, environ: dict[str, str]) -> Provider:
    from masthead.providers.openai_provider import OpenAIProvider

    section = config.providers.openai
    key = environ.get(section.api_key_env)
    if not key:
        raise ConfigError(
            f"environment variable {section.api_key_env} is not set, so the openai provider has no key",
            fix=f"export {section.api_key_env}=... (or change [providers.openai] api_key_env in masthead.toml),"
            " then run again",
        )
    return OpenAIProvider(
        base_url=section.base_url,
        api_key=key,
        api_key_env=section.api_key_env,
        timeout_seconds=section.timeout_seconds,
    )


register_provider("local", _local)
register_provider("openai", _openai)


class ProviderSet:
    """One provider instance per id for the life of a process (local models load once)."""

    def __init__(self, config: MastheadConfig, environ: dict[str, str] | None = None):
        self._config = config
        self._environ = dict(os.environ) if environ is None else environ
        self._built: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def get(self, provider_id: str) -> Provider:
        with self._lock:
            if provider_id not in self._built:
                if provider_id not in _FACTORIES:
                    raise NotFoundError(
                        f"provider {provider_id!r} is unknown", fix=f"use one of: {', '.join(sorted(_FACTORIES))}"
                    )
                self._built[provider_id] = _FACTORIES[provider_id](self._config, self._environ)
            return self._built[provider_id]

    def override(self, provider_id: str, provider: Provider) -> None:
        """Use a ready-made provider instance (embedding Masthead in another program)."""
        with self._lock:
            self._built[provider_id] = provider
