"""Settings read from the environment and `.env` (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend import PROJECT_ROOT

PLACEHOLDER_SECRET = "change-me-development-only"  # noqa: S105  (refused outside development)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = PLACEHOLDER_SECRET
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    database_url: str = "sqlite:///./undersigned.db"
    redis_url: str | None = None
    media_dir: str = "media"

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: int = 10
    mail_from: str = "Undersigned <no-reply@undersigned.localhost>"
    # Keep mail in the outbox instead of sending it. Outside production it is what happens without SMTP_HOST;
    # production refuses to start without SMTP_HOST unless this is set (password resets would vanish).
    mail_capture: bool = False

    # The outbox sender and scheduler run inside `serve` unless told otherwise (production runs `worker`).
    embedded_worker: bool = True
    outbox_poll_seconds: float = 1.0
    outbox_batch_size: int = 50
    outbox_connections: int = 1
    outbox_lease_seconds: int = 120
    outbox_max_attempts: int = 8

    session_idle_minutes: int = 120
    session_absolute_hours: int = 24 * 7
    verify_token_hours: int = 48
    reset_token_minutes: int = 60
    coalition_invite_days: int = 14

    rate_limit_login: str = "10/minute"
    rate_limit_login_account: str = "20/hour"
    rate_limit_signup: str = "5/minute"
    rate_limit_reset: str = "5/minute"
    # Per client IP on the public signing pages (a load test from one address raises these; never in production).
    rate_limit_sign: str = "20/minute"
    rate_limit_sign_confirm: str = "30/minute"
    rate_limit_sign_link_page: str = "120/minute"

    # `serve` logs every request (uvicorn's access log). Behind a proxy that logs requests itself, turning it off
    # saves each serve process about an eighth of its time on publication day (docs/benchmarks.md).
    access_log: bool = True
    # The proxies whose X-Forwarded-For and X-Forwarded-Proto `serve` believes (comma-separated addresses or
    # networks, or *): the rate limits count each visitor by the address the proxy saw.
    forwarded_allow_ips: str = "127.0.0.1,::1"

    load_examples: bool = True

    # Cheap password hashes, for test suites only (refused in production).
    fast_password_hashing: bool = False
    # Inbound mail (replies to the letter's reply+<token>@ address): `undersigned inbound imap` polls a mailbox,
    # `undersigned inbound listen` receives over SMTP or LMTP for a subdomain routed to it.
    inbound_imap_host: str | None = None
    inbound_imap_port: int = 993
    inbound_imap_ssl: bool = True
    inbound_imap_user: str | None = None
    inbound_imap_password: str | None = None
    inbound_imap_folder: str = "INBOX"
    inbound_imap_done_folder: str = "Undersigned"  # where read messages are moved
    inbound_imap_poll_seconds: float = 60.0
    inbound_listen_host: str = "127.0.0.1"
    inbound_listen_port: int = 8025
    inbound_listen_lmtp: bool = False
    inbound_max_bytes: int = 25 * 1024 * 1024
    inbound_attachment_max_bytes: int = 10 * 1024 * 1024
    # Measured commitments: the lead is reminded when one has had no figure for this many months.
    commitment_silence_months: int = Field(default=6, ge=1, le=60)
    # Privacy (backend/privacy): who is responsible for the personal data, shown in the privacy notice, and how
    # long it is kept. Contact emails and IP addresses count from the letter's publication (or closure); a daily
    # job removes what is older (docs/privacy.md).
    privacy_controller: str = "The coalition running each letter, and the operator of this site"
    privacy_contact: str = "privacy@example.org"
    retention_contact_email_days: int = 365
    retention_ip_days: int = 90
    retention_email_body_days: int = 30
    retention_press_download_days: int = 90
    # Mail an account can cause (issue 15): organisations invited to sign per account in any 24 hours. A new
    # (younger than ACCOUNT_ESTABLISHED_DAYS) or unverified account, or one not of the campaign's lead organisation,
    # gets the small budget; an established account of the lead organisation the larger one.
    invite_limit_new_account: int = 25
    invite_limit_established: int = 1000
    account_established_days: int = 14
    # Threads for the sync routes of one `serve` process (anyio's default is 40): fewer threads take turns on the
    # interpreter lock with less waiting (docs/benchmarks.md). Downloads waiting for a build have their own.
    serve_threads: int = Field(default=6, ge=1, le=200)
    # Documents (the press pack) are built by the worker: a burst of changes within this many seconds is built
    # once; a download waits up to DOCUMENT_WAIT_SECONDS for a build under way. Each PDF rendering process renders
    # this many documents, then exits and gives its memory back.
    document_coalesce_seconds: float = 2.0
    document_wait_seconds: float = 60.0
    document_renders_per_process: int = 20
    document_max_attempts: int = 5
    # Behind the nginx site of deploy/: downloads are answered with X-Accel-Redirect and nginx sends the file.
    x_accel_redirect: bool = False

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def session_cookie_name(self) -> str:
        return "__Host-us_session" if self.is_production else "us_session"

    @property
    def csrf_cookie_name(self) -> str:
        return "__Host-us_csrf" if self.is_production else "us_csrf"

    @property
    def flash_cookie_name(self) -> str:
        return "__Host-us_flash" if self.is_production else "us_flash"

    @property
    def templates_dir(self) -> str:
        return str(PROJECT_ROOT / "templates")

    @property
    def letters_dir(self) -> str:
        return str(PROJECT_ROOT / "letters")

    @model_validator(mode="after")
    def refuse_placeholder_secret(self) -> Settings:
        if self.environment != "development" and (
            self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                    "SECRET_KEY must be set to a random value of 32+ characters outside development "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        if self.environment == "production" and self.fast_password_hashing:
            raise ValueError("FAST_PASSWORD_HASHING is for test suites only and is refused in production")
        if self.environment == "production" and not self.smtp_host and not self.mail_capture:
            raise ValueError(
                "SMTP_HOST is not set: in production mail would be kept in the outbox and never sent. Set the "
                "SMTP_* settings, or MAIL_CAPTURE=true if keeping mail unsent is really what you want."
            )
        return self

    @model_validator(mode="after")
    def base_url_follows_port(self) -> Settings:
        # In development, PORT (or HOST) alone is enough: emailed links point where the app really listens.
        if self.environment == "development" and "base_url" not in self.model_fields_set:
            self.base_url = f"http://{self.host}:{self.port}"
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
