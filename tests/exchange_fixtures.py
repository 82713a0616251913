"""A small, well-formed world for exchange tests, importable by every test module.

``build_world(session)`` makes a province (``000.00.00.H62``) with two districts and their
communes, a second province (``000.00.00.H63``, "the other agency"), users in each role,
an agency-system token for every agency, and one revoked token. Call it inside
``session_scope(engine, write=True)``; the returned ``World`` holds plain values (ids,
codes, secrets) that stay valid after the session closes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from exchange.models import Agency
from exchange.services import accounts

accounts.use_fast_hashing_for_tests()

PASSWORD = "mật-khẩu-thử-nghiệm-1"
PROVINCE = "000.00.00.H62"
OTHER_PROVINCE = "000.00.00.H63"
DISTRICTS = {
    "000.00.01.H62": ("Huyện Thử Một", ["000.01.01.H62", "000.02.01.H62", "000.03.01.H62"]),
    "000.00.02.H62": ("Huyện Thử Hai", ["000.04.02.H62", "000.05.02.H62"]),
}
COMMUNE_NAMES = {
    "000.01.01.H62": "Xã An Bình", "000.02.01.H62": "Xã Hòa Lộc", "000.03.01.H62": "Phường Một",
    "000.04.02.H62": "Xã Tân Hội", "000.05.02.H62": "Xã Long Phước",
}


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    agency_code: str
    agency_id: int
    roles: tuple[str, ...]
    token: str
    token_id: int


@dataclass
class World:
    province: str
    other_province: str
    districts: list[str]
    communes: dict[str, list[str]]  # district code → its communes
    agency_ids: dict[str, int]
    agency_tokens: dict[str, str]  # agency code → its system's token secret
    agency_token_ids: dict[str, int]
    people: dict[str, Person]  # clerk, signer, auditor, admin, norole, district_clerk, other_*
    revoked_token: str  # the province clerk's, revoked
    password: str = PASSWORD
    extra: dict = field(default_factory=dict)

    @property
    def all_communes(self) -> list[str]:
        return [c for d in self.districts for c in self.communes[d]]

    def token(self, who: str) -> str:
        return self.people[who].token

    def headers(self, who: str) -> dict[str, str]:
        """Auth headers for a person (``"clerk"``) or an agency code (its system token)."""
        if who in self.people:
            return auth(self.people[who].token)
        return auth(self.agency_tokens[who])


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _agency(session: Session, code: str, name: str, level: str, parent: Agency | None) -> Agency:
    agency = Agency(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                    valid_from=date(2020, 1, 1))
    session.add(agency)
    session.flush()
    return agency


def build_world(session: Session) -> World:
    made: dict[str, Agency] = {}
    province = made[PROVINCE] = _agency(session, PROVINCE, "UBND tỉnh Thử Nghiệm", "province", None)
    made[OTHER_PROVINCE] = _agency(session, OTHER_PROVINCE, "UBND tỉnh Bên Cạnh", "province", None)
    communes: dict[str, list[str]] = {}
    for dcode, (dname, ccodes) in DISTRICTS.items():
        district = made[dcode] = _agency(session, dcode, dname, "district", province)
        communes[dcode] = list(ccodes)
        for ccode in ccodes:
            made[ccode] = _agency(session, ccode, COMMUNE_NAMES[ccode], "commune", district)

    people: dict[str, Person] = {}

    def person(key: str, username: str, code: str, roles: tuple[str, ...], full_name: str) -> None:
        user = accounts.add_user(session, username=username, agency_code=code, roles=list(roles),
                                 full_name=full_name, position="Chuyên viên", password=PASSWORD, actor="test")
        token, secret = accounts.add_token(session, user_id=user.id, name="test", actor="test")
        people[key] = Person(user.id, username, code, made[code].id, roles, secret, token.id)  # type: ignore[arg-type]

    person("clerk", "vanthu.tinh", PROVINCE, ("clerk",), "Nguyễn Thị Lấp Lánh")
    person("signer", "lanhdao.tinh", PROVINCE, ("signer",), "Trần Văn Ánh")
    person("auditor", "kiemtra.tinh", PROVINCE, ("auditor",), "Lê Thị Kiểm")
    person("admin", "quantri.tinh", PROVINCE, ("admin",), "Phạm Văn Trị")
    person("norole", "khach.tinh", PROVINCE, (), "Võ Văn Khách")
    person("district_clerk", "vanthu.huyen1", "000.00.01.H62", ("clerk",), "Đặng Thị Huyện")
    person("other_clerk", "vanthu.bencanh", OTHER_PROVINCE, ("clerk",), "Hồ Văn Cạnh")
    person("other_signer", "lanhdao.bencanh", OTHER_PROVINCE, ("signer",), "Hồ Thị Ký")
    person("other_auditor", "kiemtra.bencanh", OTHER_PROVINCE, ("auditor",), "Hồ Văn Soát")
    person("other_admin", "quantri.bencanh", OTHER_PROVINCE, ("admin",), "Hồ Thị Quản")

    agency_tokens: dict[str, str] = {}
    agency_token_ids: dict[str, int] = {}
    for code, agency in made.items():
        token, secret = accounts.add_token(session, agency_id=agency.id, name="system", actor="test")
        agency_tokens[code], agency_token_ids[code] = secret, token.id  # type: ignore[assignment]

    revoked, revoked_secret = accounts.add_token(session, user_id=people["clerk"].id, name="old", actor="test")
    accounts.revoke(session, revoked.id, actor="test")  # type: ignore[arg-type]
    session.flush()
    return World(
        province=PROVINCE, other_province=OTHER_PROVINCE, districts=list(DISTRICTS), communes=communes,
        agency_ids={code: a.id for code, a in made.items()},  # type: ignore[misc]
        agency_tokens=agency_tokens, agency_token_ids=agency_token_ids, people=people,
        revoked_token=revoked_secret,
    )


def make_pdf(text: str = "Công văn thử nghiệm", pages: int = 1) -> bytes:
    """A small valid PDF (classic xref table), different for different ``text``."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    safe = text.encode("ascii", "replace").decode().replace("(", "[").replace(")", "]")
    for i in range(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({safe} - {i + 1}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def with_filler(pdf: bytes, filler: bytes) -> bytes:
    """``pdf`` (a classic-xref file of :func:`make_pdf`) with ``filler`` before its first object;
    the xref offsets and ``startxref`` are moved along, so the file stays valid."""
    cut = pdf.index(b"1 0 obj")
    shift = len(filler)
    head, body = pdf[:cut], pdf[cut:]
    xref_at = body.rindex(b"xref\n")
    table = body[xref_at:].split(b"\n")
    fixed = [b"%010d 00000 n " % (int(line[:10]) + shift) if line.endswith(b" n ") else line for line in table]
    start = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    out = head + filler + body[:xref_at] + b"\n".join(fixed)
    return out.replace(b"startxref\n%d\n" % start, b"startxref\n%d\n" % (start + shift))


def padded_pdf(kilobytes: int, salt: bytes) -> bytes:
    """A valid PDF (:func:`make_pdf`) whose body carries ``kilobytes`` of comment lines (the salt
    first, so that no two are alike)."""
    filler = b"%" + salt.hex().encode() + b"\n" + (b"%" + b"x" * 1022 + b"\n") * kilobytes
    return with_filler(make_pdf("bench " + salt.hex()), filler)


def encrypted_pdf() -> bytes:
    """``make_pdf()`` encrypted with a password (pyHanko's standard security handler)."""
    import io

    from pyhanko.pdf_utils.crypt import StandardSecurityHandler
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(make_pdf())))
    writer._assign_security_handler(StandardSecurityHandler.build_from_pw("chủ-sở-hữu", "người-dùng"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


DOCUMENT_METADATA = {
    "number": "12", "notation": "UBND-VP", "doc_type": "Công văn",
    "subject": "V/v triển khai thử nghiệm liên thông văn bản", "urgency": "normal",
    "confidentiality": "normal", "issued_on": "2026-11-20", "place": "Vĩnh Long",
    "signer_name": "Trần Văn Ánh", "signer_position": "Chủ tịch",
}


def caller_for(world: World, who: str):  # type: ignore[no-untyped-def]
    """The ``Caller`` a person (``"clerk"``) or an agency code's system stands for."""
    from exchange.domain.caller import Caller
    from exchange.domain.enums import CallerKind

    if who in world.people:
        p = world.people[who]
        return Caller(CallerKind.USER, p.agency_id, p.agency_code, p.id, p.username, frozenset(p.roles), p.token_id)
    return Caller(CallerKind.AGENCY, world.agency_ids[who], who, None, None, frozenset(), world.agency_token_ids[who])


def store_document(session: Session, store, world: World, who: str = "clerk", *, pdf: bytes | None = None,  # type: ignore[no-untyped-def]
                   state: str = "draft", **metadata) -> int:
    """A document uploaded through the service (no HTTP); ``state`` is then set directly, so
    dispatch tests can start from a "sealed" document without signing. Returns its id."""
    import io

    from exchange.models import Document
    from exchange.services import documents

    data = documents.parse_metadata({**DOCUMENT_METADATA, **metadata})
    ref = store.put(io.BytesIO(pdf or make_pdf()))
    document = documents.create_document(session, caller_for(world, who), ref, data)
    if state != "draft":
        row = session.get(Document, document.id)
        row.state = state  # type: ignore[union-attr]
        session.add(row)
        session.flush()
    return document.id  # type: ignore[return-value]


def upload_via_api(client, headers: dict, pdf: bytes | None = None, metadata: dict | str | None = None,  # type: ignore[no-untyped-def]
                   filename: str = "van-ban.pdf"):
    """POST /api/v1/documents as multipart; returns the response."""
    import io
    import json as _json

    md = metadata if isinstance(metadata, str) else _json.dumps({**DOCUMENT_METADATA, **(metadata or {})})
    return client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(make_pdf() if pdf is None else pdf), filename), "metadata": md})


def snapshot(engine, app) -> dict:  # type: ignore[no-untyped-def]
    """Every row of every table and every blob file: compare two snapshots to prove that a
    refused request changed nothing."""
    import sqlalchemy as sa

    from storage.schema import import_all_models

    state: dict = {}
    with engine.connect() as conn:
        for table in import_all_models().sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            # a token's coarse "last used" stamp is bookkeeping of the call itself, not a change
            columns = [c for c in table.columns if not (table.name == "api_token" and c.name == "last_used_at")]
            state[table.name] = [tuple(row) for row in conn.execute(sa.select(*columns).order_by(*order))]
    blob_dir = app.extensions["lienthong.settings"].blob_dir
    state["_blobs"] = sorted(str(p.relative_to(blob_dir)) for p in blob_dir.rglob("*")
                             if p.is_file() and "tmp" not in p.relative_to(blob_dir).parts
                             and p.name != "lienthong-store")  # the store's marker, made on first use
    return state
