"""``flask demo seed``: a small, believable world to try the service on.

Vĩnh Long province with some of its (pre-2025) districts and communes — the names are real,
the codes are made up but well-formed (QCVN 102 shape, province group H61) — a clerk and a
signer in a few agencies, an auditor and an admin in the province, and an agency-system
token for each agency that has people. Passwords and tokens are random and printed once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlmodel import Session

from exchange import audit, users
from exchange.agencies import find_by_codes
from exchange.models import Agency

PROVINCE_CODE = "000.00.00.H61"
PROVINCE_NAME = "UBND tỉnh Vĩnh Long"

# district name → some of its communes/wards (real names; codes are generated below)
DISTRICTS: list[tuple[str, list[str]]] = [
    ("UBND thành phố Vĩnh Long", ["Phường 1", "Phường 2", "Phường 8", "Phường Tân Ngãi", "Phường Trường An"]),
    ("UBND thị xã Bình Minh", ["Phường Cái Vồn", "Phường Thành Phước", "Xã Đông Thành", "Xã Mỹ Hòa"]),
    ("UBND huyện Long Hồ", ["Thị trấn Long Hồ", "Xã An Bình", "Xã Đồng Phú", "Xã Hòa Ninh", "Xã Phước Hậu"]),
    ("UBND huyện Mang Thít", ["Thị trấn Cái Nhum", "Xã Mỹ An", "Xã Chánh Hội", "Xã Nhơn Phú"]),
    ("UBND huyện Vũng Liêm", ["Thị trấn Vũng Liêm", "Xã Trung Thành", "Xã Hiếu Phụng", "Xã Quới Thiện"]),
    ("UBND huyện Tam Bình", ["Thị trấn Tam Bình", "Xã Tân Phú", "Xã Hòa Hiệp", "Xã Song Phú"]),
    ("UBND huyện Trà Ôn", ["Thị trấn Trà Ôn", "Xã Hựu Thành", "Xã Thới Hòa", "Xã Vĩnh Xuân"]),
    ("UBND huyện Bình Tân", ["Xã Tân Quới", "Xã Thành Lợi", "Xã Tân Bình", "Xã Mỹ Thuận"]),
]


def district_code(index: int) -> str:
    return f"000.00.{index + 1:02d}.H61"


def commune_code(district_index: int, commune_index: int) -> str:
    return f"000.{commune_index + 1:02d}.{district_index + 1:02d}.H61"


# (username, agency code, roles, full name, position)
PEOPLE: list[tuple[str, str, list[str], str, str]] = [
    ("vanthu.vinhlong", PROVINCE_CODE, ["clerk"], "Nguyễn Thị Lấp Lánh", "Văn thư"),
    ("chutich.vinhlong", PROVINCE_CODE, ["signer"], "Trần Văn Ánh", "Chủ tịch"),
    ("kiemtra.vinhlong", PROVINCE_CODE, ["auditor"], "Lê Thị Kiểm", "Chuyên viên kiểm tra"),
    ("quantri.vinhlong", PROVINCE_CODE, ["admin"], "Phạm Văn Trị", "Quản trị hệ thống"),
    ("vanthu.longho", district_code(2), ["clerk"], "Võ Thị Hồng", "Văn thư"),
    ("chutich.longho", district_code(2), ["signer"], "Huỳnh Văn Đức", "Chủ tịch"),
    ("vanthu.anbinh", commune_code(2, 1), ["clerk"], "Đặng Thị Bình", "Văn thư"),
    ("chutich.anbinh", commune_code(2, 1), ["signer"], "Ngô Văn Ấn", "Chủ tịch"),
    ("vanthu.caivon", commune_code(1, 0), ["clerk"], "Bùi Thị Vồn", "Văn thư"),
    ("chutich.caivon", commune_code(1, 0), ["signer"], "Dương Văn Cái", "Chủ tịch"),
]


@dataclass
class SeedResult:
    created: bool
    agencies: int = 0
    passwords: list[tuple[str, str, str]] = field(default_factory=list)  # username, agency, password
    tokens: list[tuple[str, str]] = field(default_factory=list)  # agency code, token
    credentials: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def province_exists(session: Session) -> bool:
    return bool(find_by_codes(session, [PROVINCE_CODE]))


def seed(session: Session, settings=None, *, issue_credentials: bool = True) -> SeedResult:  # type: ignore[no-untyped-def]
    """Create the demo world in the caller's transaction. Refuses (Conflict from the
    unique codes) if it exists; check :func:`province_exists` first for ``--if-missing``."""
    result = SeedResult(created=True)
    province = Agency(code=PROVINCE_CODE, name=PROVINCE_NAME, short_name="Vĩnh Long", level="province")
    session.add(province)
    session.flush()
    by_code = {PROVINCE_CODE: province}
    for d_index, (d_name, communes) in enumerate(DISTRICTS):
        district = Agency(code=district_code(d_index), name=d_name, level="district", parent_id=province.id)
        session.add(district)
        session.flush()
        by_code[district.code] = district
        for c_index, c_name in enumerate(communes):
            commune = Agency(code=commune_code(d_index, c_index), name=f"UBND {c_name}", level="commune",
                             parent_id=district.id)
            session.add(commune)
            by_code[commune.code] = commune
    session.flush()
    result.agencies = len(by_code)
    audit.record(session, actor="cli", agency_code=PROVINCE_CODE, action="demo.seed", object="agencies",
                 details={"agencies": result.agencies})

    for username, code, roles, full_name, position in PEOPLE:
        password = secrets.token_urlsafe(12)
        users.create_user(session, username=username, agency_code=code, roles=roles, full_name=full_name,
                          position=position, password=password)
        result.passwords.append((username, code, password))
    for code in dict.fromkeys(code for _, code, *_ in PEOPLE):
        _token, secret = users.create_token(session, agency_id=by_code[code].id, name="demo system")
        result.tokens.append((code, secret))

    if issue_credentials and settings is not None:
        _issue_credentials(session, settings, by_code, result)
    return result


def _issue_credentials(session: Session, settings, by_code: dict[str, Agency], result: SeedResult) -> None:  # type: ignore[no-untyped-def]
    try:
        from certs import issue_agency_seal, issue_person_credential
    except ImportError:
        result.warnings.append("certs không cấp chứng thư / certs cannot issue credentials: skipped")
        return
    for username, code, roles, full_name, position in PEOPLE:
        if "signer" in roles:
            credential = issue_person_credential(session, settings, username=username, full_name=full_name,
                                                 position=position, agency_code=code,
                                                 agency_name=by_code[code].name)
            result.credentials.append(f"person {username} (credential {getattr(credential, 'id', '?')})")
            audit.record(session, actor="cli", agency_code=code, action="credential.issue",
                         object=f"user:{username}", details={"profile": "person"})
    for code in dict.fromkeys(code for _, code, *_ in PEOPLE):
        credential = issue_agency_seal(session, settings, agency_code=code, agency_name=by_code[code].name)
        result.credentials.append(f"seal {code} (credential {getattr(credential, 'id', '?')})")
        audit.record(session, actor="cli", agency_code=code, action="credential.issue",
                     object=f"agency:{code}", details={"profile": "seal"})
