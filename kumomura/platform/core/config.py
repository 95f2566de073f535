"""Settings from KUMOMURA_* environment variables, in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Unset database URL means the embedded SQLite default."""

    model_config = SettingsConfigDict(env_prefix="KUMOMURA_", env_file=None)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql+psycopg://...); unset: SQLite files in data_dir",
    )
    data_dir: Path = Field(default=Path("data"), description="where SQLite files live")
    db_pool_size: int = Field(
        default=10, ge=1, le=200, description="PostgreSQL connections kept per process "
        "(as many again may open under load); a connection opened per request costs more "
        "than the request")
    db_login_key: Path | None = Field(
        default=None, description="the key the database logins' passwords are derived "
        "from (PostgreSQL: the control plane's and each municipality's login), kept outside "
        "the database; unset: data_dir/keys/db-logins.key, made by db upgrade")
    auth_cache_seconds: float = Field(
        default=10.0, ge=0, le=300, description="how long a process trusts an API token it "
        "has checked (revocation takes effect in other processes within this time)")
    migrate_workers: int = Field(default=4, ge=1, le=64, description="parallel tenant migrations")
    event_max_attempts: int = Field(default=5, ge=1, description="deliveries before dead letter")
    login_free_failures: int = Field(
        default=5, ge=1, le=100, description="failed logins of one name before each next "
        "attempt has to wait (ten times as many from one client address)")
    login_max_delay_seconds: int = Field(
        default=900, ge=1, le=86400, description="the longest wait between attempts; the "
        "wait doubles from 1 s with each failure beyond the free ones")
    cookie_secure: bool = Field(
        default=True, description="the session cookie only over HTTPS (browsers treat "
        "http://127.0.0.1 and localhost as secure too); off only behind nothing at all")
    public_url: str | None = Field(
        default=None, description="the address staff and other systems reach kumomura at "
        "(https://kumomura.example.jp), from which each municipality's OIDC issuer is "
        "made; unset: the address of the request")
    degraded: bool = Field(
        default=False, description="縮退運用: a town hall's local, read-only counter service "
        "from its municipal package; certificates get their own numbering (D...)")
    backup_target: str | None = Field(
        default=None, description="where the workers' scheduled backups go: a directory or "
        "postgresql://... of the second data center; unset: no scheduled backups")
    backup_cron: str = Field(
        default="30 2 * * *", description="when the scheduled backups run (cron, the "
        "workers' time zone): nightly keeps the RPO within the previous business day")
    backup_keep: int = Field(default=14, ge=1, le=400, description="generations kept")
    backup_key_dir: Path | None = Field(
        default=None, description="where each municipality's backup key is kept (apart from "
        "the backups); unset: data_dir/keys")
    audit_signing_key: Path | None = Field(
        default=None, description="the Ed25519 private key (PEM) that signs the audit "
        "chain's checkpoints, kept outside the database; unset: data_dir/keys/"
        "audit-signing.pem, made on first use")
    audit_seal_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often each serving process chains the "
        "audit entries written since (readers of the log seal first in any case)")
    audit_checkpoint_cron: str = Field(
        default="*/10 * * * *", description="when the workers sign every chain's tip")
    audit_checkpoint_dir: Path | None = Field(
        default=None, description="where each municipality's signed checkpoints are "
        "appended (outside the database); unset: data_dir/audit-checkpoints")
    upload_max_bytes: int = Field(
        default=1 << 30, ge=1, description="the largest file an import upload may send; "
        "files are streamed to disk, never read whole into memory")
    font_dir: Path | None = Field(
        default=None, description="directory holding ipaexm.ttf and ipaexg.ttf; unset: the "
        "Debian font packages' paths")


def backup_keys(settings: Settings) -> Path:
    return settings.backup_key_dir or settings.data_dir / "keys"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache after changing the environment."""
    return Settings()
