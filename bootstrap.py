"""The ``Services`` object: everything the service is made of, built once from the settings.

``create_app``, every CLI command and the coming worker use one; the use cases in
``exchange.services`` take it as their first argument. Building it checks what can be
checked at start-up (the data folder, the database, the blob store's settings, the trust
anchors), so that a bad setting stops start-up with one line (:class:`settings.ConfigError`)
instead of failing a request later.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from certs.ca import DevPKI, load_dev_pki
from certs.trust import TrustStore, load_trust_store
from exchange.adapters.caches import DispatchCache, TokenCache
from exchange.adapters.certs_ports import ExchangeCredentialAudit, ExchangeDirectory
from exchange.adapters.agency_events import EVENT_NOTIFIER
from exchange.adapters.notify import EVENTS_CHANNEL, Notifier
from exchange.services.receipts import ReceiptKey, load_or_create_key
from settings import ConfigError, Settings, load_or_create_secret
from signing.isolation import IsolatedVerifier
from signing.logs import quiet_expected_validation_tracebacks
from exchange.services.storage_gc import store_may_be_created
from storage.blobs import BlobStore
from storage.db import DatabaseUnavailable, UnitOfWork, check_connection, describe_url, full_url, make_engine
from storage.factory import create_blob_store
from translations import LANGUAGES, catalogue

# pyHanko and its validator (with aiohttp and requests) load when a service first validates
# or stamps, not in every ``flask`` command: start-up stays under a second (docs/benchmarks.md).
if TYPE_CHECKING:
    from exchange.adapters.sealed_secrets import SecretBox
    from pyhanko.sign.timestamps import TimeStamper
    from pyhanko_certvalidator import ValidationContext


DATA_DIR_MODE = 0o700


@dataclass
class Services:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    trust: TrustStore
    receipt_key: ReceiptKey
    notifier: Notifier
    event_notifier: Notifier  # the events feed's marks and wake-ups (exchange.services.events)
    token_cache: TokenCache
    dispatch_cache: DispatchCache
    directory: ExchangeDirectory
    credential_audit: ExchangeCredentialAudit
    verifier: IsolatedVerifier = field(default_factory=IsolatedVerifier)
    _pki: DevPKI | None = field(default=None, repr=False)
    _pki_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _webhook_secrets: SecretBox | None = field(default=None, repr=False)

    def uow(self, *, write: bool = False) -> UnitOfWork:
        """A new unit of work: ``with services.uow(write=True) as uow: …; uow.commit()``."""
        return UnitOfWork(self.engine, write=write, context={EVENT_NOTIFIER: self.event_notifier})

    @property
    def pki(self) -> DevPKI:
        """The development PKI (made on first use: a fresh data folder has none yet)."""
        if self._pki is None:
            with self._pki_lock:
                if self._pki is None:
                    self._pki = load_dev_pki(self.settings)
        return self._pki

    @property
    def webhook_secrets(self) -> SecretBox:
        """Seals the webhooks' signing secrets in the database, under the deployment's
        ``secret_key`` (the file every node shares, as for the sessions)."""
        if self._webhook_secrets is None:
            from exchange.adapters.sealed_secrets import SecretBox

            self._webhook_secrets = SecretBox(load_or_create_secret(self.settings.data_dir / "secret_key"), "webhook")
        return self._webhook_secrets

    def validation_context(self, **kwargs: Any) -> ValidationContext:
        """A new context for one validation (never shared between threads), trusting the
        anchors loaded at start-up; our own CA's OCSP and CRL are answered in-process."""
        from certs.fetchers import validation_context

        kwargs.setdefault("trust_roots", self.trust.roots())
        return validation_context(self.settings, engine=self.engine, **kwargs)

    def timestamper(self) -> TimeStamper:
        from certs.fetchers import local_timestamper

        return local_timestamper(self.settings)

    def close(self) -> None:
        self.verifier.close()
        self.notifier.stop()
        self.event_notifier.stop()
        self.engine.dispose()


def build(settings: Settings) -> Services:
    """Build and check everything; :class:`ConfigError` names what is wrong."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # the agencies' documents, keys and database: the service's user alone, whatever the umask
        os.chmod(settings.data_dir, DATA_DIR_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot create the data folder {settings.data_dir}: {exc.strerror}") from None
    try:
        for lang in LANGUAGES:
            catalogue(lang)  # compiled when its .po is newer, loaded now rather than on the first refusal
    except OSError as exc:
        raise ConfigError(f"cannot load the message catalogue {exc.filename}: {exc.strerror}") from None
    url = settings.effective_database_url
    engine = make_engine(url)
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        engine.dispose()
        raise ConfigError(f"cannot reach the database {describe_url(url)}: {exc}") from None
    try:
        # A lost folder or bucket is never re-created behind the operators' back: only while the
        # database refers to no blob (or the newest one is there); else `flask storage init`.
        blobs = create_blob_store(settings, may_create=lambda: store_may_be_created(engine, blobs))
        trust = load_trust_store(settings)
        receipt_key = load_or_create_key(settings.data_dir)
    except BaseException:
        engine.dispose()
        raise
    quiet_expected_validation_tracebacks()
    notifier = Notifier(full_url(engine))
    # whoever disposes of the engine (a test, a forked worker) also stops its listener thread
    event_notifier = Notifier(full_url(engine), channel=EVENTS_CHANNEL)

    def stop_listeners(_engine: Engine) -> None:
        notifier.stop()
        event_notifier.stop()

    sa.event.listen(engine, "engine_disposed", stop_listeners)
    return Services(
        settings=settings, engine=engine, blobs=blobs, trust=trust, receipt_key=receipt_key,
        notifier=notifier, event_notifier=event_notifier, token_cache=TokenCache(settings.token_cache_seconds),
        dispatch_cache=DispatchCache(), directory=ExchangeDirectory(engine),
        credential_audit=ExchangeCredentialAudit(),
        verifier=IsolatedVerifier(workers=settings.verify_workers, memory_mb=settings.verify_memory_mb),
    )
