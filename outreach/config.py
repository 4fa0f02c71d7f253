"""Settings, read from ``OUTREACH_*`` environment variables (and an optional ``.env`` file).

With nothing set, outreach runs on the embedded default: a SQLite file, a broker on the local file
system (kombu's filesystem transport) and the simulator gateway. PostgreSQL, Redis and Twilio are
settings away.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "xxx", "placeholder", "your-auth-token"}


class ConfigError(RuntimeError):
    """Settings that cannot work; the message says what to set, in one line."""


MIN_SECRET_CHARS = 32


def weak_secret_reason(value: str) -> str | None:
    """Why a configured secret is not strong enough, or None."""
    if len(value) < MIN_SECRET_CHARS:
        return (
            f"needs at least {MIN_SECRET_CHARS} random characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    if len(set(value)) < 8:
        return "is too repetitive to be a random secret"
    return None


class Settings(BaseSettings):
    """Everything an operator can configure."""

    model_config = SettingsConfigDict(env_prefix="OUTREACH_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = "dev"
    data_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    redis_url: str = ""
    auto_migrate: bool = True

    gateway: Literal["simulator", "twilio"] = "simulator"
    public_base_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_messaging_service_sid: str = ""
    twilio_from_number: str = ""
    twilio_api_base_url: str = ""
    twilio_validity_period_s: int | None = Field(default=None, ge=1, le=36000)
    # Signs the simulator phones' replies in dev; never used when Twilio is configured.
    simulator_auth_token: str = "simulator-webhook-secret"  # noqa: S105
    # Signs web sessions; required in production, generated into the data folder in dev.
    session_secret: SecretStr = SecretStr("")
    # Rate limits ("N/minute", "N/hour"; see outreach/security/ratelimit.py).
    rate_limit_auth_failures_per_address: str = "20/minute"
    rate_limit_auth_failures_per_key: str = "10/minute"
    rate_limit_sign_in_per_address: str = "10/minute"
    rate_limit_inbound_per_sender: str = "30/minute"
    # Clinic defaults a clinic can change: texts' segment cap, segments per day, days bodies are kept.
    max_segments: int = Field(default=10, ge=1, le=50)
    daily_segment_cap: int = Field(default=10000, ge=0)
    retention_days: int = Field(default=365, ge=1)
    # Request bodies larger than this are refused with 413 while they stream in.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_upload_bytes: int = Field(default=10_000_000, ge=1024)

    sender_type: Literal["long_code", "toll_free", "short_code"] = "long_code"
    # Fernet keys (comma-separated, newest first) for the subaccount tokens of clinics' senders.
    credentials_key: SecretStr = SecretStr("")
    # Phone numbers at rest (outreach/security/crypto.py): Fernet keys, and HMAC keys for their blind
    # index, each comma-separated, newest first; required in production, generated into the data folder
    # in dev. Rotate with `outreach keys rotate` after putting a new key first.
    phi_keys: SecretStr = SecretStr("")
    phi_index_keys: SecretStr = SecretStr("")
    # Whether a STOP to one clinic also stops the same phone at the other clinics of its organisation.
    stop_scope: Literal["clinic", "organisation"] = "clinic"
    sender_rate_per_s: float | None = Field(default=None, ge=1, le=10000)

    # /metrics: a bearer token, or (without one) only callers from these networks.
    metrics_token: SecretStr = SecretStr("")
    metrics_allow: str = "127.0.0.1/32,::1/128"
    # A worker's own metrics endpoint (0: none), for workers on hosts without the API.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_bind: str = "127.0.0.1"
    # Logs: `text` (the current lines) or `json` (one object per line with request or task id).
    log_format: Literal["text", "json"] = "text"

    scheduler_interval_s: float = Field(default=2.0, gt=0)
    # Launched campaigns' texts are written to the outbox at least this long before their time.
    materialize_ahead_s: int = Field(default=6 * 3600, ge=60)
    claim_batch_size: int = Field(default=500, ge=1, le=10000)
    stale_sending_after_s: int = Field(default=300, ge=1)
    requeue_after_s: int = Field(default=120, ge=1)
    reconcile_after_s: int = Field(default=300, ge=1)
    max_send_attempts: int = Field(default=5, ge=1, le=20)

    # Outcome report (outreach/reports/stats.py): reply window, and the disparity flag's rule.
    report_reply_days: int = Field(default=7, ge=1, le=90)
    report_flag_threshold_pp: float = Field(default=10.0, gt=0, le=100)
    report_min_group_size: int = Field(default=30, ge=11, le=100_000)

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'outreach.db').as_posix()}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if not self.redis_url and self.broker_url.startswith(("redis://", "rediss://")):
            self.redis_url = self.broker_url
        return self

    @model_validator(mode="after")
    def _gateway_is_usable(self) -> Settings:
        if self.gateway != "twilio":
            if self.env == "production":
                raise ValueError(
                    "the simulator gateway cannot run in production: set OUTREACH_GATEWAY=twilio"
                )
            return self
        token = self.twilio_auth_token.get_secret_value()
        if not self.twilio_account_sid.startswith("AC"):
            raise ValueError("the Twilio gateway needs OUTREACH_TWILIO_ACCOUNT_SID (it starts with AC)")
        if token.lower() in _PLACEHOLDERS:
            raise ValueError(
                "the Twilio gateway needs OUTREACH_TWILIO_AUTH_TOKEN (a real token, not a placeholder)"
            )
        if bool(self.twilio_messaging_service_sid) == bool(self.twilio_from_number):
            raise ValueError(
                "the Twilio gateway needs exactly one of OUTREACH_TWILIO_MESSAGING_SERVICE_SID "
                "or OUTREACH_TWILIO_FROM_NUMBER"
            )
        return self

    @model_validator(mode="after")
    def _session_secret_is_strong(self) -> Settings:
        if self.env == "production":
            reason = weak_secret_reason(self.session_secret.get_secret_value())
            if reason:
                raise ValueError(f"OUTREACH_SESSION_SECRET {reason} (production needs its own strong secret)")
        return self

    @model_validator(mode="after")
    def _phi_keys_are_set(self) -> Settings:
        if self.env != "production":
            return self
        if not self.phi_keys.get_secret_value().strip(","):
            raise ValueError(
                "OUTREACH_PHI_KEYS must be set in production (Fernet keys, newest first: "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            )
        for key in self.phi_index_keys.get_secret_value().split(",") or [""]:
            reason = weak_secret_reason(key.strip())
            if reason:
                raise ValueError(f"OUTREACH_PHI_INDEX_KEYS: each key {reason} (production needs real keys)")
        return self

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite database."""
        return self.database_url.startswith("sqlite")

    @property
    def broker_folder(self) -> Path:
        """Where the embedded file-system broker keeps its messages."""
        return self.data_dir / "broker"


def load_settings() -> Settings:
    """Read settings, turning validation failures into one clear ConfigError line."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        if field == "settings":
            raise ConfigError(message) from None
        raise ConfigError(f"OUTREACH_{field.upper()}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own Settings instead)."""
    return load_settings()


def webhook_token(settings: Settings) -> str:
    """The secret webhooks are signed with: the Twilio auth token, or the simulator's own."""
    return settings.twilio_auth_token.get_secret_value() or settings.simulator_auth_token
