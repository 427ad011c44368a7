"""Build providers from masthead.toml, found through the entry-point group `masthead.providers`.

An entry point names a factory `(config, environ) -> Provider`; the built-ins are declared in
pyproject.toml exactly as a plugin package declares its own:

    [project.entry-points."masthead.providers"]
    local = "masthead.providers.registry:local_provider"

A program that embeds Masthead may also `register_provider(id, factory)` in-process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from masthead.config import KNOWN_PROVIDERS, MastheadConfig
from masthead.errors import ConfigError, NotFoundError
from masthead.plugins import PROVIDERS, load, named
from masthead.providers.base import Provider

ProviderFactory = Callable[[MastheadConfig, dict[str, str]], Provider]
BUILTIN: dict[str, str] = {
    "local": "masthead.providers.registry:local_provider",
    "openai": "masthead.providers.registry:openai_provider",
}
_REGISTERED: dict[str, ProviderFactory] = {}


def register_provider(provider_id: str, factory: ProviderFactory) -> None:
    """Add a provider in-process; it wins over an entry point of the same id."""
    _REGISTERED[provider_id] = factory
    KNOWN_PROVIDERS.add(provider_id)


def provider_factory(provider_id: str) -> ProviderFactory:
    if provider_id in _REGISTERED:
        return _REGISTERED[provider_id]
    targets = named(PROVIDERS, BUILTIN)
    if provider_id not in targets:
        known = sorted(set(targets) | set(_REGISTERED))
        raise NotFoundError(f"provider {provider_id!r} is unknown", fix=f"use one of: {', '.join(known)}")
    factory: ProviderFactory = load(targets[provider_id])
    return factory


def local_provider(config: MastheadConfig, environ: dict[str, str]) -> Provider:
    from masthead.providers.local import LocalProvider

    section = config.providers.local
    return LocalProvider(model_path=section.model_path or None, n_ctx=section.n_ctx, n_threads=section.n_threads)


def openai_provider(config: MastheadConfig, environ: dict[str, str]) -> Provider:
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
                self._built[provider_id] = provider_factory(provider_id)(self._config, self._environ)
            return self._built[provider_id]

    def override(self, provider_id: str, provider: Provider) -> None:
        """Use a ready-made provider instance (embedding Masthead in another program)."""
        with self._lock:
            self._built[provider_id] = provider
