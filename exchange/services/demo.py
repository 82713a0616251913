"""``flask demo seed``: a small, believable world to try the service on.

Vĩnh Long province with some of its (pre-2025) districts and communes — the names are real,
the codes are made up but well-formed (QCVN 102 shape, province group H61) — a clerk and a
signer in a few agencies, an auditor and an admin in the province, and an agency-system
token for each agency that has people. Passwords and tokens are random and printed once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import Session

from certs.issuance import issue_agency_seal, issue_person_credential
from certs.ports import CredentialAudit
from errors import Conflict
from exchange.adapters import audit_log
from exchange.domain.caller import CLI_ACTOR
from exchange.domain.enums import AgencyLevel, Role
from exchange.models import Agency
from exchange.services import accounts
from exchange.services.directory import find_by_codes
from settings import Settings
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

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
PEOPLE: list[tuple[str, str, list[Role], str, str]] = [
    ("vanthu.vinhlong", PROVINCE_CODE, [Role.CLERK], "Nguyễn Thị Lấp Lánh", "Văn thư"),
    ("chutich.vinhlong", PROVINCE_CODE, [Role.SIGNER], "Trần Văn Ánh", "Chủ tịch"),
    ("kiemtra.vinhlong", PROVINCE_CODE, [Role.AUDITOR], "Lê Thị Kiểm", "Chuyên viên kiểm tra"),
    ("quantri.vinhlong", PROVINCE_CODE, [Role.ADMIN], "Phạm Văn Trị", "Quản trị hệ thống"),
    ("vanthu.longho", district_code(2), [Role.CLERK], "Võ Thị Hồng", "Văn thư"),
    ("chutich.longho", district_code(2), [Role.SIGNER], "Huỳnh Văn Đức", "Chủ tịch"),
    ("vanthu.anbinh", commune_code(2, 1), [Role.CLERK], "Đặng Thị Bình", "Văn thư"),
    ("chutich.anbinh", commune_code(2, 1), [Role.SIGNER], "Ngô Văn Ấn", "Chủ tịch"),
    ("vanthu.caivon", commune_code(1, 0), [Role.CLERK], "Bùi Thị Vồn", "Văn thư"),
    ("chutich.caivon", commune_code(1, 0), [Role.SIGNER], "Dương Văn Cái", "Chủ tịch"),
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


def seed_demo(svc: "Services", *, if_missing: bool = False, issue_credentials: bool = True) -> SeedResult | None:
    """``flask demo seed``: the demo world in one unit of work. None when it exists and
    ``if_missing``; Conflict when it exists otherwise."""
    with svc.uow(write=True) as uow:
        if province_exists(uow.session):
            if if_missing:
                return None
            raise Conflict(_l("%(code)s already exists (use --if-missing)", code=PROVINCE_CODE))
        result = seed(uow.session, svc.settings if issue_credentials else None, audit=svc.credential_audit)
        uow.commit()
    return result


def seed(session: Session, settings: Settings | None = None, *, audit: CredentialAudit | None = None) -> SeedResult:
    """Create the demo world in the caller's transaction (signing credentials too, given the
    settings). Refuses (Conflict from the unique codes) if it exists; check
    :func:`province_exists` first for ``--if-missing``."""
    result = SeedResult(created=True)
    province = Agency(code=PROVINCE_CODE, name=PROVINCE_NAME, short_name="Vĩnh Long", level=AgencyLevel.PROVINCE)
    session.add(province)
    session.flush()
    by_code = {PROVINCE_CODE: province}
    for d_index, (d_name, communes) in enumerate(DISTRICTS):
        district = Agency(code=district_code(d_index), name=d_name, level=AgencyLevel.DISTRICT,
                          parent_id=province.id)
        session.add(district)
        session.flush()
        by_code[district.code] = district
        for c_index, c_name in enumerate(communes):
            commune = Agency(code=commune_code(d_index, c_index), name=f"UBND {c_name}", level=AgencyLevel.COMMUNE,
                             parent_id=district.id)
            session.add(commune)
            by_code[commune.code] = commune
    session.flush()
    result.agencies = len(by_code)
    audit_log.record(session, actor=CLI_ACTOR, agency_code=PROVINCE_CODE, action="demo.seed", object="agencies",
                     details={"agencies": result.agencies})

    for username, code, roles, full_name, position in PEOPLE:
        password = secrets.token_urlsafe(12)
        accounts.add_user(session, username=username, agency_code=code, roles=roles, full_name=full_name,
                          position=position, password=password)
        result.passwords.append((username, code, password))
    for code in dict.fromkeys(code for _, code, *_ in PEOPLE):
        _token, secret = accounts.add_token(session, agency_id=by_code[code].id, name="demo system")
        result.tokens.append((code, secret))

    if settings is not None:
        _issue_credentials(session, settings, by_code, result, audit)
    return result


def _issue_credentials(session: Session, settings: Settings, by_code: dict[str, Agency], result: SeedResult,
                       audit: CredentialAudit | None) -> None:
    for username, code, roles, full_name, position in PEOPLE:
        if Role.SIGNER in roles:
            credential = issue_person_credential(session, settings, username=username, full_name=full_name,
                                                 position=position, agency_code=code,
                                                 agency_name=by_code[code].name, audit=audit)
            result.credentials.append(f"person {username} (credential {credential.id})")
    for code in dict.fromkeys(code for _, code, *_ in PEOPLE):
        credential = issue_agency_seal(session, settings, agency_code=code, agency_name=by_code[code].name,
                                       audit=audit)
        result.credentials.append(f"seal {code} (credential {credential.id})")
