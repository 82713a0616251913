"""certs's tables (SQLModel).

Owners are named by strings (username or agency code), not foreign keys: ``certs`` must
not depend on ``exchange``. Revocation is kept on the credential itself.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime, utcnow

__all__ = ["Credential", "utcnow"]


class Credential(SQLModel, table=True):
    __tablename__ = "credential"

    id: int | None = Field(default=None, primary_key=True)
    owner_kind: str = Field(max_length=16)            # 'user' | 'agency'
    owner_ref: str = Field(max_length=128, index=True)  # username or agency code
    certificate: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    serial: str = Field(max_length=64, index=True)   # lowercase hex, no leading zeros
    subject: str = Field(max_length=1024)
    issuer: str = Field(max_length=1024)
    key_store: str = Field(max_length=16)             # 'pkcs12' | 'pkcs11'
    key_ref: str = Field(max_length=512)              # p12 path under data_dir, or token key label
    image_png: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    not_before: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    not_after: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    revocation_reason: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
