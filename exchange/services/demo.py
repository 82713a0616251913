"""``flask demo seed``: a small, believable world to try the service on, as it is since the
2025 reform of local government.

On 1 July 2025 Vĩnh Long, Bến Tre and Trà Vinh provinces were merged into the new Vĩnh Long
province, and the district level was abolished everywhere: the new province has communes
(xã) and wards (phường) directly below it. The demo builds that two-tier tree (36 of its
124 communes and wards, real names), and keeps the world before it as predecessors: the
three old provinces, their 26 districts and some of their communes, each with
``valid_to`` 2025-06-30 and a successor, so that mail addressed to an old code reaches its
successor and shows the redirect (``addressed_to``, ``exchange.services.dispatch``).

The codes are made up but well-formed (QCVN 102 shape): post-reform codes were not found in
public material (DOMAIN.md (d)). The old provinces keep group H61 (Vĩnh Long, the previous
demo's code), H08 (Bến Tre) and H58 (Trà Vinh); the new province gets H64, a code never used
before, since a retired code is never given to another agency.

People: a clerk, a signer, an auditor and an admin in the province, a clerk and a signer in
three communes and wards, an agency-system token for each agency that has people.
Passwords and tokens are random, generated here and printed once by the command.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
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

REFORM_DAY = date(2025, 7, 1)
LAST_DAY_BEFORE = date(2025, 6, 30)

PROVINCE_CODE = "000.00.00.H64"
PROVINCE_NAME = "UBND tỉnh Vĩnh Long"

# The new province's communes and wards (Resolution 1687/NQ-UBTVQH15 arranged 124 of them):
# a subset, the wards of the three former provincial cities and towns and the communes named
# after former district towns.
WARDS = ["Thanh Đức", "Long Châu", "Phước Hậu", "Tân Hạnh", "Tân Ngãi", "Bình Minh", "Cái Vồn", "Đông Thành",
         "An Hội", "Phú Khương", "Bến Tre", "Sơn Đông", "Phú Tân", "Trà Vinh", "Long Đức", "Nguyệt Hóa",
         "Hòa Thuận", "Duyên Hải", "Trường Long Hòa"]
COMMUNES = ["Long Hồ", "An Bình", "Cái Nhum", "Vũng Liêm", "Tam Bình", "Trà Ôn", "Tân Quới", "Giồng Trôm",
            "Ba Tri", "Bình Đại", "Chợ Lách", "Mỏ Cày", "Thạnh Phú", "Càng Long", "Cầu Kè", "Tiểu Cần",
            "Cầu Ngang"]
UNITS: list[tuple[str, str]] = [("phường", name) for name in WARDS] + [("xã", name) for name in COMMUNES]


def unit_code(index: int) -> str:
    """A commune or ward right below the province: no district group any more."""
    return f"000.00.{index + 1:02d}.H64"


def unit_name(kind: str, name: str) -> str:
    return f"UBND {kind} {name}"


UNIT_CODES = {f"{kind} {name}": unit_code(i) for i, (kind, name) in enumerate(UNITS)}

# The world before 1 July 2025: province → districts → some communes, each old commune with
# the new commune or ward it became part of. A district's successor is the new province,
# which took over the district level's work (its communes took the rest).
OldDistrict = tuple[str, list[tuple[str, str]]]  # district name, [(old commune name, successor unit)]
OLD_PROVINCES: list[tuple[str, str, list[OldDistrict]]] = [
    ("H61", "Vĩnh Long", [
        ("UBND thành phố Vĩnh Long", [("Phường Tân Ngãi", "phường Tân Ngãi")]),
        ("UBND thị xã Bình Minh", [("Phường Cái Vồn", "phường Cái Vồn"), ("Xã Đông Thành", "phường Đông Thành")]),
        ("UBND huyện Long Hồ", [("Thị trấn Long Hồ", "xã Long Hồ"), ("Xã An Bình", "xã An Bình")]),
        ("UBND huyện Mang Thít", [("Thị trấn Cái Nhum", "xã Cái Nhum")]),
        ("UBND huyện Vũng Liêm", [("Thị trấn Vũng Liêm", "xã Vũng Liêm")]),
        ("UBND huyện Tam Bình", [("Thị trấn Tam Bình", "xã Tam Bình")]),
        ("UBND huyện Trà Ôn", [("Thị trấn Trà Ôn", "xã Trà Ôn")]),
        ("UBND huyện Bình Tân", [("Xã Tân Quới", "xã Tân Quới")]),
    ]),
    ("H08", "Bến Tre", [
        ("UBND thành phố Bến Tre", [("Phường An Hội", "phường An Hội"), ("Phường Phú Khương", "phường Phú Khương")]),
        ("UBND huyện Châu Thành", []),
        ("UBND huyện Chợ Lách", [("Thị trấn Chợ Lách", "xã Chợ Lách")]),
        ("UBND huyện Mỏ Cày Nam", [("Thị trấn Mỏ Cày", "xã Mỏ Cày")]),
        ("UBND huyện Mỏ Cày Bắc", []),
        ("UBND huyện Giồng Trôm", [("Thị trấn Giồng Trôm", "xã Giồng Trôm")]),
        ("UBND huyện Bình Đại", [("Thị trấn Bình Đại", "xã Bình Đại")]),
        ("UBND huyện Ba Tri", [("Thị trấn Ba Tri", "xã Ba Tri")]),
        ("UBND huyện Thạnh Phú", [("Thị trấn Thạnh Phú", "xã Thạnh Phú")]),
    ]),
    ("H58", "Trà Vinh", [
        ("UBND thành phố Trà Vinh", []),
        ("UBND thị xã Duyên Hải", [("Xã Trường Long Hòa", "phường Trường Long Hòa")]),
        ("UBND huyện Càng Long", [("Thị trấn Càng Long", "xã Càng Long")]),
        ("UBND huyện Cầu Kè", [("Thị trấn Cầu Kè", "xã Cầu Kè")]),
        ("UBND huyện Tiểu Cần", [("Thị trấn Tiểu Cần", "xã Tiểu Cần")]),
        ("UBND huyện Châu Thành", []),
        ("UBND huyện Cầu Ngang", [("Thị trấn Cầu Ngang", "xã Cầu Ngang")]),
        ("UBND huyện Trà Cú", []),
        ("UBND huyện Duyên Hải", []),
    ]),
]
OLD_VINH_LONG_CODE = "000.00.00.H61"  # the previous demo's live province: its presence means "seeded"


def old_province_code(group: str) -> str:
    return f"000.00.00.{group}"


def old_district_code(group: str, index: int) -> str:
    return f"000.00.{index + 1:02d}.{group}"


def old_commune_code(group: str, district_index: int, commune_index: int) -> str:
    return f"000.{commune_index + 1:02d}.{district_index + 1:02d}.{group}"


# (username, agency code, roles, full name, position)
PEOPLE: list[tuple[str, str, list[Role], str, str]] = [
    ("vanthu.vinhlong", PROVINCE_CODE, [Role.CLERK], "Nguyễn Thị Lấp Lánh", "Văn thư"),
    ("chutich.vinhlong", PROVINCE_CODE, [Role.SIGNER], "Trần Văn Ánh", "Chủ tịch"),
    ("kiemtra.vinhlong", PROVINCE_CODE, [Role.AUDITOR], "Lê Thị Kiểm", "Chuyên viên kiểm tra"),
    ("quantri.vinhlong", PROVINCE_CODE, [Role.ADMIN], "Phạm Văn Trị", "Quản trị hệ thống"),
    ("vanthu.thanhduc", UNIT_CODES["phường Thanh Đức"], [Role.CLERK], "Võ Thị Hồng", "Văn thư"),
    ("chutich.thanhduc", UNIT_CODES["phường Thanh Đức"], [Role.SIGNER], "Huỳnh Văn Đức", "Chủ tịch"),
    ("vanthu.longho", UNIT_CODES["xã Long Hồ"], [Role.CLERK], "Đặng Thị Bình", "Văn thư"),
    ("chutich.longho", UNIT_CODES["xã Long Hồ"], [Role.SIGNER], "Ngô Văn Ấn", "Chủ tịch"),
    ("vanthu.anhoi", UNIT_CODES["phường An Hội"], [Role.CLERK], "Bùi Thị Hội", "Văn thư"),
    ("chutich.anhoi", UNIT_CODES["phường An Hội"], [Role.SIGNER], "Dương Văn Tre", "Chủ tịch"),
]


@dataclass(frozen=True)
class DemoAccount:
    """One demo credential as ``make run`` prints it: who, what role, where."""
    username: str
    role: str
    agency_code: str
    agency_name: str
    password: str | None = None  # only right after seeding: it is stored as a hash


@dataclass
class SeedResult:
    created: bool
    agencies: int = 0
    predecessors: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)
    tokens: list[tuple[str, str, str]] = field(default_factory=list)  # agency code, agency name, token
    credentials: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def agency_names() -> dict[str, str]:
    """Every live demo agency's name by code (the province and its communes and wards)."""
    return {PROVINCE_CODE: PROVINCE_NAME, **{unit_code(i): unit_name(k, n) for i, (k, n) in enumerate(UNITS)}}


def demo_accounts(passwords: dict[str, str] | None = None) -> list[DemoAccount]:
    names = agency_names()
    return [DemoAccount(username, ",".join(roles), code, names[code], (passwords or {}).get(username))
            for username, code, roles, _name, _position in PEOPLE]


def demo_exists(session: Session) -> bool:
    """The demo is there: today's province, or the pre-reform demo's (whose codes the old
    provinces reuse, so it cannot be seeded over)."""
    return bool(find_by_codes(session, [PROVINCE_CODE, OLD_VINH_LONG_CODE]))


def seed_demo(svc: "Services", *, if_missing: bool = False, issue_credentials: bool = True) -> SeedResult:
    """``flask demo seed``: the demo world in one unit of work. When it exists: with
    ``if_missing``, a result with ``created`` False and the accounts without passwords;
    otherwise Conflict."""
    with svc.uow(write=True) as uow:
        if demo_exists(uow.session):
            if if_missing:
                return SeedResult(created=False, accounts=demo_accounts())
            raise Conflict(_l("%(code)s already exists (use --if-missing)", code=PROVINCE_CODE))
        result = seed(uow.session, svc.settings if issue_credentials else None, audit=svc.credential_audit)
        uow.commit()
    return result


def _agency(session: Session, by_code: dict[str, Agency], code: str, name: str, level: str, *,
            parent: Agency | None, short_name: str = "", valid_from: date | None = None,
            valid_to: date | None = None, successor: Agency | None = None) -> Agency:
    agency = Agency(code=code, name=name, short_name=short_name, level=level,
                    parent_id=parent.id if parent else None, successor_id=successor.id if successor else None,
                    valid_from=valid_from, valid_to=valid_to)
    session.add(agency)
    session.flush()
    by_code[code] = agency
    return agency


def seed(session: Session, settings: Settings | None = None, *, audit: CredentialAudit | None = None) -> SeedResult:
    """Create the demo world in the caller's transaction (signing credentials too, given the
    settings). Refuses (Conflict from the unique codes) if it exists; check
    :func:`demo_exists` first for ``--if-missing``."""
    result = SeedResult(created=True)
    by_code: dict[str, Agency] = {}
    province = _agency(session, by_code, PROVINCE_CODE, PROVINCE_NAME, AgencyLevel.PROVINCE, parent=None,
                       short_name="Vĩnh Long", valid_from=REFORM_DAY)
    units: dict[str, Agency] = {}
    for index, (kind, name) in enumerate(UNITS):
        units[f"{kind} {name}"] = _agency(session, by_code, unit_code(index), unit_name(kind, name),
                                          AgencyLevel.COMMUNE, parent=province, short_name=f"{kind} {name}",
                                          valid_from=REFORM_DAY)
    live = len(by_code)
    for group, old_name, districts in OLD_PROVINCES:
        old_province = _agency(session, by_code, old_province_code(group), f"UBND tỉnh {old_name}",
                               AgencyLevel.PROVINCE, parent=None, short_name=old_name,
                               valid_to=LAST_DAY_BEFORE, successor=province)
        for d_index, (district_name, communes) in enumerate(districts):
            district = _agency(session, by_code, old_district_code(group, d_index), district_name,
                               AgencyLevel.DISTRICT, parent=old_province, valid_to=LAST_DAY_BEFORE,
                               successor=province)
            for c_index, (commune_name, successor) in enumerate(communes):
                _agency(session, by_code, old_commune_code(group, d_index, c_index), f"UBND {commune_name}",
                        AgencyLevel.COMMUNE, parent=district, valid_to=LAST_DAY_BEFORE,
                        successor=units[successor])
    result.agencies, result.predecessors = live, len(by_code) - live
    audit_log.record(session, actor=CLI_ACTOR, agency_code=PROVINCE_CODE, action="demo.seed", object="agencies",
                     details={"agencies": live, "predecessors": result.predecessors})

    passwords: dict[str, str] = {}
    for username, code, roles, full_name, position in PEOPLE:
        passwords[username] = secrets.token_urlsafe(12)
        accounts.add_user(session, username=username, agency_code=code, roles=roles, full_name=full_name,
                          position=position, password=passwords[username])
    result.accounts = demo_accounts(passwords)
    for code in dict.fromkeys(code for _, code, *_ in PEOPLE):
        _token, secret = accounts.add_token(session, agency_id=by_code[code].id, name="demo system")
        result.tokens.append((code, by_code[code].name, secret))

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
