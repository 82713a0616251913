"""A serving process's warm-up (exchange.services.warm_up): the keys the service holds are
loaded ahead, and nothing is written (no row, no blob, no audit event)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from certs.issuance import forget_signing_credential, load_signing_credential
from certs.models import Credential
from exchange.services.warm_up import warm_up_signing
from storage.schema import import_all_models
from tests.db import session_scope
from tests.signing_world import build_signing_world


def _row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in import_all_models().tables.items()}


def _files(folder) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_warm_up_loads_held_keys_ahead_and_writes_nothing(services, engine, settings) -> None:  # type: ignore[no-untyped-def]
    sw = build_signing_world(engine, settings, "signer")
    credential_id = sw.credentials["signer"]
    forget_signing_credential(credential_id)
    rows_before, blobs_before = _row_counts(engine), _files(settings.blob_dir)

    warm_up_signing(services)

    assert _row_counts(engine) == rows_before
    assert _files(settings.blob_dir) == blobs_before
    # the key file gone, the credential still signs: warm-up had loaded it
    with session_scope(engine) as session:
        row = session.get(Credential, credential_id)
        assert row is not None and row.key_store == "pkcs12"
        (settings.data_dir / row.key_ref).unlink()
        assert load_signing_credential(session, settings, credential_id).credential_id == credential_id


def test_without_warm_up_a_missing_key_file_is_noticed(services, engine, settings) -> None:  # type: ignore[no-untyped-def]
    """What the test above relies on: a key not loaded ahead is read from its file."""
    sw = build_signing_world(engine, settings, "signer")
    credential_id = sw.credentials["signer"]
    forget_signing_credential(credential_id)
    with session_scope(engine) as session:
        row = session.get(Credential, credential_id)
        assert row is not None
        (settings.data_dir / row.key_ref).unlink()
        with pytest.raises(FileNotFoundError):
            load_signing_credential(session, settings, credential_id)
