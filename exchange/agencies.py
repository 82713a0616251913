"""The agency directory: a code-keyed tree of any depth, with mergers routed to successors.

The 2025 reform removed the district level, so nothing here assumes a number of levels:
children are found by ``parent_id``, level by level, however deep the tree goes.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Iterable

from sqlmodel import Session, select

from errors import Conflict, NotFound, Unprocessable
from exchange import audit
from exchange.models import AGENCY_LEVELS, Agency

CODE_MAX = 35
# QCVN 102:2016 ``LLL.KK.JJ.Xnn``: dot-separated groups of digits and capitals. Later
# amendments add groups, so the number of groups is not fixed; empty groups are not allowed.
_CODE = re.compile(r"^[0-9A-Z]+(\.[0-9A-Z]+)+$")
CSV_COLUMNS = ("code", "name", "level", "parent_code")  # required; optional: short_name, valid_from,
# valid_to (YYYY-MM-DD) and successor_code (where mail goes once valid_to has passed)


def code_problem(code: object) -> str | None:
    """Why ``code`` is not a well-formed agency code, or None."""
    if not isinstance(code, str) or not code:
        return "mã định danh trống / code is empty"
    if len(code) > CODE_MAX:
        return f"mã định danh dài quá {CODE_MAX} ký tự / code longer than {CODE_MAX} characters"
    if not _CODE.match(code):
        return ("mã định danh phải theo dạng QCVN 102, ví dụ 000.00.00.H62 / code must be in the "
                "QCVN 102 form (digits, A–Z and dots), e.g. 000.00.00.H62")
    return None


def validate_code(code: object) -> str:
    problem = code_problem(code)
    if problem:
        raise Unprocessable(problem, fields={"code": problem})
    return code  # type: ignore[return-value]


def get_by_code(session: Session, code: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == code)).one_or_none()
    if agency is None:
        raise NotFound(f"không có cơ quan mã {code} / no agency with code {code}")
    return agency


def find_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Agency]:
    wanted = list(dict.fromkeys(codes))
    found: dict[str, Agency] = {}
    for start in range(0, len(wanted), 500):  # keep IN lists a reasonable size
        chunk = wanted[start:start + 500]
        for agency in session.exec(select(Agency).where(Agency.code.in_(chunk))).all():  # type: ignore[attr-defined]
            found[agency.code] = agency
    return found


def is_current(agency: Agency, on: date | None = None) -> bool:
    on = on or date.today()
    return (agency.valid_from is None or agency.valid_from <= on) and (
        agency.valid_to is None or on <= agency.valid_to)


def route(session: Session, agency: Agency, on: date | None = None) -> Agency:
    """Where mail for ``agency`` goes on ``on`` (today by default): the agency itself, or,
    once it has been merged away (a successor and a passed ``valid_to``), the end of its
    successor chain. A loop in the directory is an error, not an endless walk."""
    on = on or date.today()
    seen = {agency.id}
    current = agency
    while current.successor_id is not None and (current.valid_to is None or current.valid_to < on):
        nxt = session.get(Agency, current.successor_id)
        if nxt is None:
            break
        if nxt.id in seen:
            raise Conflict(f"danh bạ có vòng kế thừa quanh {agency.code} / the directory's successor "
                           f"chain loops from {agency.code}", code="directory_loop")
        seen.add(nxt.id)
        current = nxt
    return current


def children(session: Session, parent: Agency) -> list[Agency]:
    return list(session.exec(select(Agency).where(Agency.parent_id == parent.id).order_by(Agency.code)).all())


def descendants(session: Session, code: str, level: str | None = None) -> list[Agency]:
    """Every agency below ``code`` at any depth (one query per depth), optionally of one level."""
    root = get_by_code(session, code)
    found: list[Agency] = []
    seen = {root.id}
    frontier = [root.id]
    while frontier:
        rows = []
        for start in range(0, len(frontier), 500):
            chunk = frontier[start:start + 500]
            rows.extend(session.exec(select(Agency).where(Agency.parent_id.in_(chunk))).all())  # type: ignore[union-attr]
        frontier = []
        for agency in rows:
            if agency.id in seen:  # a damaged tree with a loop must not hang us
                continue
            seen.add(agency.id)
            frontier.append(agency.id)
            found.append(agency)
    if level is not None:
        found = [a for a in found if a.level == level]
    return sorted(found, key=lambda a: a.code)


def list_agencies(session: Session, *, parent: str | None = None, after: str = "",
                  limit: int = 100) -> list[Agency]:
    stmt = select(Agency).where(Agency.code > after)
    if parent is not None:
        stmt = stmt.where(Agency.parent_id == get_by_code(session, parent).id)
    return list(session.exec(stmt.order_by(Agency.code).limit(limit)).all())


def codes_of(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Agency codes by id, in one query per 500 ids."""
    wanted = sorted({i for i in ids if i is not None})
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update(session.exec(select(Agency.id, Agency.code).where(Agency.id.in_(chunk))).all())  # type: ignore[union-attr,arg-type]
    return found


def agencies_json(session: Session, rows: list[Agency]) -> list[dict]:
    codes = codes_of(session, [a.parent_id for a in rows] + [a.successor_id for a in rows])
    return [{
        "code": a.code, "name": a.name, "short_name": a.short_name, "level": a.level,
        "parent_code": codes.get(a.parent_id) if a.parent_id else None,  # type: ignore[arg-type]
        "successor_code": codes.get(a.successor_id) if a.successor_id else None,  # type: ignore[arg-type]
        "valid_from": a.valid_from.isoformat() if a.valid_from else None,
        "valid_to": a.valid_to.isoformat() if a.valid_to else None,
    } for a in rows]


def merge(session: Session, old_code: str, into_code: str, effective: date, *, actor: str = "cli") -> Agency:
    """``old_code`` is merged into ``into_code`` from ``effective`` on: its last day is the
    day before, and mail addressed to it is routed to its successor from then on. The old
    code stays in the directory (codes are never reused)."""
    old, new = get_by_code(session, old_code), get_by_code(session, into_code)
    if old.id == new.id:
        raise Unprocessable("không thể sáp nhập vào chính nó / cannot merge an agency into itself",
                            fields={"into": "phải là cơ quan khác / must be another agency"})
    old.successor_id, old.valid_to = new.id, effective - timedelta(days=1)
    session.add(old)
    session.flush()
    route(session, old, date.max)  # Conflict if this closes a loop; the caller's transaction rolls back
    audit.record(session, actor=actor, agency_code=old.code, action="agency.merge", object=f"agency:{old.code}",
                 details={"into": new.code, "effective": effective.isoformat()})
    return old


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_rows(path_or_stream: str | Path | IO) -> tuple[list[str] | None, list[tuple[int, dict]]]:
    if isinstance(path_or_stream, (str, Path)):
        text = Path(path_or_stream).read_text(encoding="utf-8-sig")
    else:
        raw = path_or_stream.read()
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader]
    return reader.fieldnames, rows


def import_csv(session: Session, path_or_stream: str | Path | IO, *, actor: str = "cli") -> ImportResult:
    """Import (or update) agencies from CSV ``code,name,level,parent_code`` (optionally
    ``short_name,valid_from,valid_to,successor_code``). Rows are checked first, all of them:
    if any is bad nothing is written and every bad row is reported with its line number.
    Parents and successors may come after the rows naming them."""
    result = ImportResult()
    try:
        header, rows = _read_rows(path_or_stream)
    except (UnicodeDecodeError, csv.Error) as exc:
        result.errors.append((1, f"không đọc được tệp CSV (UTF-8) / unreadable CSV: {exc}"))
        return result
    missing = [c for c in CSV_COLUMNS if c not in (header or [])]
    if missing:
        result.errors.append((1, f"thiếu cột / missing columns: {', '.join(missing)}"))
        return result

    in_file: dict[str, int] = {}
    for line, row in rows:
        code = (row.get("code") or "").strip()
        problem = code_problem(code)
        if problem:
            result.errors.append((line, problem))
        elif code in in_file:
            result.errors.append((line, f"mã {code} trùng dòng {in_file[code]} / duplicate of line {in_file[code]}"))
        else:
            in_file[code] = line
        name = (row.get("name") or "").strip()
        if not name or len(name) > 255:
            result.errors.append((line, "tên trống hoặc dài quá 255 ký tự / name empty or longer than 255"))
        level = (row.get("level") or "").strip()
        if level not in AGENCY_LEVELS:
            result.errors.append((line, f"cấp {level!r} không hợp lệ / level must be one of {', '.join(AGENCY_LEVELS)}"))
        parent = (row.get("parent_code") or "").strip()
        if parent and parent == code:
            result.errors.append((line, "cơ quan không thể là cấp trên của chính nó / an agency cannot be its own parent"))
        dates = {}
        for column in ("valid_from", "valid_to"):
            raw = (row.get(column) or "").strip()
            try:
                dates[column] = date.fromisoformat(raw) if raw else None
            except ValueError:
                result.errors.append((line, f"{column} {raw!r} không phải ngày YYYY-MM-DD / is not a YYYY-MM-DD date"))
        if dates.get("valid_from") and dates.get("valid_to") and dates["valid_to"] < dates["valid_from"]:
            result.errors.append((line, "valid_to trước valid_from / valid_to precedes valid_from"))
        if (row.get("successor_code") or "").strip() == code and code:
            result.errors.append((line, "cơ quan không thể kế thừa chính nó / an agency cannot succeed itself"))

    existing = find_by_codes(session, list(in_file) + [(r.get(c) or "").strip() for _, r in rows
                                                       for c in ("parent_code", "successor_code")])
    parents_in_file = {code: (row.get("parent_code") or "").strip() for _, row in rows
                       for code in [(row.get("code") or "").strip()]}
    for line, row in rows:
        parent = (row.get("parent_code") or "").strip()
        if parent and parent not in in_file and parent not in existing:
            result.errors.append((line, f"không có cơ quan cấp trên {parent} / unknown parent_code {parent}"))
        successor = (row.get("successor_code") or "").strip()
        if successor and successor not in in_file and successor not in existing:
            result.errors.append((line, f"không có cơ quan kế thừa {successor} / unknown successor_code {successor}"))
    # a loop among the file's own parent links would make a tree with no root
    for code, line in in_file.items():
        seen, cur = {code}, parents_in_file.get(code)
        while cur and cur in parents_in_file:
            if cur in seen:
                result.errors.append((line, f"vòng cấp trên qua {cur} / parent loop through {cur}"))
                break
            seen.add(cur)
            cur = parents_in_file.get(cur)
    if result.errors:
        result.errors.sort()
        return result

    savepoint = session.begin_nested()  # a successor loop is only visible once written
    agencies: dict[str, Agency] = dict(existing)
    for _line, row in rows:
        code = row["code"].strip()
        agency = agencies.get(code)
        fields_ = {"name": row["name"].strip(), "level": row["level"].strip(),
                   "short_name": (row.get("short_name") or "").strip()[:100]}
        for column in ("valid_from", "valid_to"):
            raw = (row.get(column) or "").strip()
            if raw or column in row:
                fields_[column] = date.fromisoformat(raw) if raw else None  # type: ignore[assignment]
        if agency is None:
            agency = Agency(code=code, **fields_)
            result.created += 1
        else:
            for key, value in fields_.items():
                setattr(agency, key, value)
            result.updated += 1
        session.add(agency)
        agencies[code] = agency
    session.flush()
    for _line, row in rows:
        agency = agencies[row["code"].strip()]
        parent = (row.get("parent_code") or "").strip()
        agency.parent_id = agencies[parent].id if parent else None
        if "successor_code" in row:
            successor = (row.get("successor_code") or "").strip()
            agency.successor_id = agencies[successor].id if successor else None
    session.flush()
    for line, row in rows:
        try:
            route(session, agencies[row["code"].strip()], date.max)
        except Conflict:
            result.errors.append((line, "vòng kế thừa / successor loop"))
    if result.errors:
        savepoint.rollback()
        result.created = result.updated = 0
        return result
    savepoint.commit()
    audit.record(session, actor=actor, agency_code="", action="agencies.import", object="agencies",
                 details={"created": result.created, "updated": result.updated})
    return result
