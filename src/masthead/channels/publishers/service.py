"""What every publisher to a web service shares: its name, settings and environment, one HTTP
client with the settings' timeout, the service's API address, and reading a secret from the
environment with an error that says which variable to export and what to put in it."""

from __future__ import annotations

from typing import ClassVar, Generic, Protocol, Self, TypeVar

import httpx

from masthead.channels.publisher import PublisherContext
from masthead.errors import ConfigError


class ServiceSettings(Protocol):
    @property
    def timeout_seconds(self) -> float: ...


S = TypeVar("S", bound=ServiceSettings)


class ServicePublisher(Generic[S]):
    # Added to the settings' `base_url` (Bluesky's /xrpc/, Ghost's Admin API path).
    api_root: ClassVar[str] = ""

    def __init__(self, name: str, settings: S, environ: dict[str, str]):
        self.name = name
        self.settings = settings
        self._environ = environ
        # Every service but the webhook has one API address; the webhook posts to its `url`.
        base_url: str = getattr(settings, "base_url", "")
        self._base = base_url.rstrip("/") + self.api_root if base_url else ""
        self._client = httpx.Client(timeout=settings.timeout_seconds)

    @classmethod
    def from_settings(cls, settings: S, context: PublisherContext) -> Self:
        return cls(context.name, settings, context.environ)

    def _secret(self, env: str, what: str) -> str:
        """The value of the variable `env` names; ConfigError (export it: `what`) when unset."""
        value = self._environ.get(env)
        if not value:
            raise ConfigError(f"publisher {self.name}: ${env} is not set", fix=f"export {env}={what}")
        return value
