"""Vietnam's whole directory after the 2025 reform, for the benchmarks and fault tests of a
national dispatch: a national root, 34 provinces, 3,321 communes, and a sealed document of
the root (its revision points to a blob that no one reads: a dispatch never opens the file)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from exchange.models import Agency, Document, Revision, utcnow

COMMUNES = 3321
PROVINCES = 34
ROOT = "000.00.00.A00"


@dataclass(frozen=True)
class Nation:
    root_id: int
    document_id: int
    revision_id: int


def build_nation(session: Session) -> Nation:
    root = Agency(code=ROOT, name="Văn phòng Chính phủ", level="other")
    session.add(root)
    session.flush()
    provinces = []
    for p in range(PROVINCES):
        province = Agency(code=f"000.00.00.P{p:02d}", name=f"Tỉnh {p}", level="province", parent_id=root.id)
        session.add(province)
        provinces.append(province)
    session.flush()
    session.execute(sa.insert(Agency), [
        {"code": f"{c % 1000:03d}.{c // 1000:02d}.01.P{c % PROVINCES:02d}", "name": f"Xã {c}", "short_name": "",
         "level": "commune", "parent_id": provinces[c % PROVINCES].id, "allow_unsigned_info": False,
         "created_at": utcnow()} for c in range(COMMUNES)])
    assert root.id is not None
    return Nation(root.id, *national_document(session, root.id))


def national_document(session: Session, root_id: int) -> tuple[int, int]:
    """Another sealed document of the root: ``(document_id, revision_id)``."""
    doc = Document(issuer_agency_id=root_id, subject="Thông báo toàn quốc", state="sealed")
    session.add(doc)
    session.flush()
    revision = Revision(document_id=doc.id, seq=1, blob_sha256="0" * 64, size=1, kind="signed")
    session.add(revision)
    session.flush()
    assert doc.id is not None and revision.id is not None
    return doc.id, revision.id
