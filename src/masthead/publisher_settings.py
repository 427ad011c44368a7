"""masthead.toml's `[publishers.<name>]` tables: the built-in kinds' settings.

A plugin's kind validates its own table with its own settings model; the built-ins' are here so
that `masthead.toml` is checked as a whole when it is read (config.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    # As config.py's: schemas are built when a model first validates, not at import.
    model_config = ConfigDict(extra="forbid", defer_build=True)


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
