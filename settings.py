"""Typed settings, read once from ``LIENTHONG_*`` environment variables.

With no variable set at all the service runs on its embedded defaults: a data folder
``./var`` holding an SQLite database and a filesystem blob store.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from translations import DEFAULT_LANGUAGE, LANGUAGES


class ConfigError(Exception):
    """A setting that stops start-up. Raised only while the service is being built (never
    while it answers requests); the entry points turn it into one line on stderr and a
    non-zero exit (``app.exit_on_config_error``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def one_line(self) -> str:
        return f"lienthong: configuration error: {self.message}"


RETENTION_MODES = ("COMPLIANCE", "GOVERNANCE")
SUPPORTED_DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no value (use true or false)")


def _int(value: str, name: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if number < minimum:
        raise ConfigError(f"{name}={value!r} must be at least {minimum}")
    return number


def _seconds(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number of seconds") from None
    if not 0 <= number <= 3600:
        raise ConfigError(f"{name}={value!r} must be between 0 and 3600")
    return number


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str = "lienthong"
    secure: bool = False
    region: str | None = None
    retention_days: int = 0
    retention_mode: str = "GOVERNANCE"
    # a slow or hung S3 fails fast: connect and read timeouts per attempt, retries of a
    # connection only (a read that timed out is not tried again), all within S3_DEADLINE_S
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    connect_retries: int = 1


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    s3: S3Settings | None = None
    port: int = 5000
    base_url: str = "http://127.0.0.1:5000"
    max_upload_mb: int = 200
    max_json_kb: int = 64  # any body but an upload's (multipart): refused before it is read or parsed
    min_free_disk_mb: int = 1024  # /readyz fails below this much room on the data folder's disk
    idempotency_hours: int = 24  # how long an Idempotency-Key's answer is kept
    storage_gc_grace_hours: int = 24  # `flask storage gc` spares unreferenced blobs younger than this
    body_read_timeout_s: float = 30.0  # a body must arrive within this (plus its length at 64 kB/s); 0: no limit
    trust_dir: Path | None = None
    pkcs11_lib: str | None = None
    pkcs11_token_label: str = "lienthong"
    pkcs11_pin: str | None = field(default=None, repr=False)  # never logged
    token_cache_seconds: float = 2.0
    proxy_hops: int = 0  # reverse proxies in front of the service whose X-Forwarded-* headers are trusted
    language: str = DEFAULT_LANGUAGE  # what the CLI prints in; the API follows each request's Accept-Language
    # pages the verifier renders per signature to compare what they show; past it the
    # signature is at best INDETERMINATE (VISUAL_CHECK_INCOMPLETE), never silently PASSED
    verify_max_rendered_pages: int = 100
    # verification runs in killable worker processes (signing.isolation) under these budgets
    verify_time_budget_s: float = 10.0
    verify_workers: int = 2
    verify_memory_mb: int = 2048  # RLIMIT_AS of each worker; 0: no limit
    metrics_token: str | None = field(default=None, repr=False)  # /metrics' bearer token (or loopback); never logged
    log_format: str = "text"  # "json": one JSON object per line (app.py)
    # webhooks (exchange.worker): delivery to private, loopback or link-local addresses only when
    # allowed (tests, a closed network); each event is retried with doubling delays from
    # webhooks_backoff_s (at most an hour apart) for webhooks_retry_s, then marked failed
    webhooks_allow_private: bool = False
    webhooks_retry_s: float = 24 * 3600
    webhooks_backoff_s: float = 10.0
    webhooks_timeout_s: float = 10.0  # the whole time of one POST, DNS included
    webhooks_lease_s: float = 60.0  # a worker killed mid-way gives its subscriptions up after this
    worker_poll_s: float = 1.0  # how often an idle worker looks for new events
    web_session_idle_minutes: int = 30  # a web session ends after this long without a request
    web_session_max_hours: int = 12  # and this long after its login, however busy
    testing: bool = False

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'lienthong.db').resolve()}"

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(hours=self.idempotency_hours)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def with_changes(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        get = lambda name, default="": env.get(f"LIENTHONG_{name}", default)  # noqa: E731

        database_url = get("DATABASE_URL").strip()
        if database_url:
            scheme = urlsplit(database_url).scheme
            if scheme not in SUPPORTED_DB_SCHEMES:
                raise ConfigError(
                    f"LIENTHONG_DATABASE_URL has unknown scheme {scheme!r}; "
                    f"use one of {', '.join(SUPPORTED_DB_SCHEMES)}"
                )

        s3 = None
        endpoint = get("S3_ENDPOINT").strip()
        if endpoint:
            if "://" in endpoint:
                raise ConfigError(
                    "LIENTHONG_S3_ENDPOINT takes host:port without a scheme "
                    "(set LIENTHONG_S3_SECURE=true for HTTPS)"
                )
            access, secret = get("S3_ACCESS_KEY"), get("S3_SECRET_KEY")
            if not access or not secret:
                raise ConfigError("LIENTHONG_S3_ENDPOINT is set but LIENTHONG_S3_ACCESS_KEY "
                                  "or LIENTHONG_S3_SECRET_KEY is missing")
            mode = get("S3_RETENTION_MODE", "GOVERNANCE").strip().upper()
            if mode not in RETENTION_MODES:
                raise ConfigError(f"LIENTHONG_S3_RETENTION_MODE={mode!r}; use COMPLIANCE or GOVERNANCE")
            s3 = S3Settings(
                endpoint=endpoint,
                access_key=access,
                secret_key=secret,
                bucket=get("S3_BUCKET", "lienthong").strip() or "lienthong",
                secure=_flag(get("S3_SECURE", "false"), "LIENTHONG_S3_SECURE"),
                region=get("S3_REGION").strip() or None,
                retention_days=_int(get("S3_RETENTION_DAYS", "0"), "LIENTHONG_S3_RETENTION_DAYS"),
                retention_mode=mode,
                connect_timeout=_timeout(get("S3_CONNECT_TIMEOUT", "2"), "LIENTHONG_S3_CONNECT_TIMEOUT"),
                read_timeout=_timeout(get("S3_READ_TIMEOUT", "5"), "LIENTHONG_S3_READ_TIMEOUT"),
                connect_retries=_int(get("S3_RETRIES", "1"), "LIENTHONG_S3_RETRIES"),
            )

        port = _int(get("PORT", "5000"), "LIENTHONG_PORT", minimum=1)
        if port > 65535:
            raise ConfigError(f"LIENTHONG_PORT={port} is not a TCP port")
        trust_dir = get("TRUST_DIR").strip()
        return _check_webhooks(cls(
            data_dir=Path(get("DATA_DIR", "var").strip() or "var"),
            database_url=database_url,
            s3=s3,
            port=port,
            base_url=(get("BASE_URL").strip() or f"http://127.0.0.1:{port}").rstrip("/"),
            max_upload_mb=_int(get("MAX_UPLOAD_MB", "200"), "LIENTHONG_MAX_UPLOAD_MB", minimum=1),
            max_json_kb=_int(get("MAX_JSON_KB", "64"), "LIENTHONG_MAX_JSON_KB", minimum=1),
            min_free_disk_mb=_int(get("MIN_FREE_DISK_MB", "1024"), "LIENTHONG_MIN_FREE_DISK_MB"),
            idempotency_hours=_int(get("IDEMPOTENCY_HOURS", "24"), "LIENTHONG_IDEMPOTENCY_HOURS", minimum=1),
            storage_gc_grace_hours=_int(get("STORAGE_GC_GRACE_HOURS", "24"), "LIENTHONG_STORAGE_GC_GRACE_HOURS",
                                        minimum=1),
            body_read_timeout_s=_seconds(get("BODY_READ_TIMEOUT", "30"), "LIENTHONG_BODY_READ_TIMEOUT"),
            trust_dir=Path(trust_dir) if trust_dir else None,
            pkcs11_lib=get("PKCS11_LIB").strip() or None,
            pkcs11_token_label=get("PKCS11_TOKEN", "lienthong").strip() or "lienthong",
            pkcs11_pin=get("PKCS11_PIN") or None,
            token_cache_seconds=_seconds(get("TOKEN_CACHE_SECONDS", "2"), "LIENTHONG_TOKEN_CACHE_SECONDS"),
            proxy_hops=_proxy_hops(get("PROXY_HOPS", "0")),
            language=_language(get("LANGUAGE", DEFAULT_LANGUAGE)),
            verify_max_rendered_pages=_int(get("VERIFY_MAX_RENDERED_PAGES", "100"),
                                           "LIENTHONG_VERIFY_MAX_RENDERED_PAGES", minimum=1),
            verify_time_budget_s=_seconds(get("VERIFY_TIME_BUDGET", "10"), "LIENTHONG_VERIFY_TIME_BUDGET"),
            verify_workers=_int(get("VERIFY_WORKERS", "2"), "LIENTHONG_VERIFY_WORKERS", minimum=1),
            verify_memory_mb=_int(get("VERIFY_MEMORY_MB", "2048"), "LIENTHONG_VERIFY_MEMORY_MB"),
            metrics_token=get("METRICS_TOKEN").strip() or None,
            log_format=_log_format(get("LOG_FORMAT", "text")),
            webhooks_allow_private=_flag(get("WEBHOOKS_ALLOW_PRIVATE", "false"), "LIENTHONG_WEBHOOKS_ALLOW_PRIVATE"),
            webhooks_retry_s=float(_int(get("WEBHOOKS_RETRY_SECONDS", "86400"), "LIENTHONG_WEBHOOKS_RETRY_SECONDS",
                                        minimum=1)),
            webhooks_backoff_s=_timeout(get("WEBHOOKS_BACKOFF", "10"), "LIENTHONG_WEBHOOKS_BACKOFF"),
            webhooks_timeout_s=_timeout(get("WEBHOOKS_TIMEOUT", "10"), "LIENTHONG_WEBHOOKS_TIMEOUT"),
            webhooks_lease_s=_timeout(get("WEBHOOKS_LEASE", "60"), "LIENTHONG_WEBHOOKS_LEASE"),
            worker_poll_s=_timeout(get("WORKER_POLL", "1"), "LIENTHONG_WORKER_POLL"),
            web_session_idle_minutes=_int(get("WEB_SESSION_IDLE_MINUTES", "30"), "LIENTHONG_WEB_SESSION_IDLE_MINUTES",
                                          minimum=1),
            web_session_max_hours=_int(get("WEB_SESSION_MAX_HOURS", "12"), "LIENTHONG_WEB_SESSION_MAX_HOURS",
                                       minimum=1),
        ))


def _check_webhooks(settings: "Settings") -> "Settings":
    # a lease shorter than a POST could run out mid-way: a second worker would send the next
    # events before the first one's answer, out of order
    if settings.webhooks_lease_s <= 2 * settings.webhooks_timeout_s:
        raise ConfigError(f"LIENTHONG_WEBHOOKS_LEASE={settings.webhooks_lease_s:g} must exceed twice "
                          f"LIENTHONG_WEBHOOKS_TIMEOUT={settings.webhooks_timeout_s:g} (a POST's connect and read)")
    return settings


def _log_format(value: str) -> str:
    value = value.strip().lower() or "text"
    if value not in ("text", "json"):
        raise ConfigError(f"LIENTHONG_LOG_FORMAT={value!r}: use text or json")
    return value


def _timeout(value: str, name: str) -> float:
    seconds = _seconds(value, name)
    if not 0.1 <= seconds <= 120:
        raise ConfigError(f"{name}={value!r} must be between 0.1 and 120 seconds")
    return seconds


def _proxy_hops(value: str) -> int:
    hops = _int(value, "LIENTHONG_PROXY_HOPS")
    if hops > 5:
        raise ConfigError(f"LIENTHONG_PROXY_HOPS={hops}: count the reverse proxies in front of the service (0–5)")
    return hops


def _language(value: str) -> str:
    lang = value.strip().lower() or DEFAULT_LANGUAGE
    if lang not in LANGUAGES:
        raise ConfigError(f"LIENTHONG_LANGUAGE={value!r}; use one of {', '.join(LANGUAGES)}")
    return lang


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """Return the secret kept at ``path``, creating it (mode 0600) on first use.

    The secret is written to a temporary file and hard-linked into place, so two processes
    starting at once agree on one complete secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(nbytes))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    data = path.read_bytes()
    if len(data) < 16:
        raise ConfigError(f"{path} is too short to be a secret; delete it to regenerate it")
    return data
