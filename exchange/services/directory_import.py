"""Importing the agency directory from CSV, all or nothing, every bad row named by its line."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Sequence

from sqlmodel import Session

from errors import Conflict
from exchange.adapters import audit_log
from exchange.domain.caller import CLI_ACTOR
from exchange.domain.codes import code_problem
from exchange.domain.enums import AgencyLevel, values
from exchange.models import Agency
from exchange.services.directory import find_by_codes, route
from translations import Message, _l

if TYPE_CHECKING:
    from bootstrap import Services

CSV_COLUMNS = ("code", "name", "level", "parent_code")  # required; optional: short_name, valid_from,
# valid_to (YYYY-MM-DD) and successor_code (where mail goes once valid_to has passed)
AGENCY_LEVELS = values(AgencyLevel)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, Message]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_rows(path_or_stream: str | Path | IO[str] | IO[bytes]
               ) -> tuple[Sequence[str] | None, list[tuple[int, dict[str, str]]]]:
    if isinstance(path_or_stream, (str, Path)):
        text = Path(path_or_stream).read_text(encoding="utf-8-sig")
    else:
        raw = path_or_stream.read()
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader]
    return reader.fieldnames, rows


def import_agencies(svc: "Services", path_or_stream: str | Path | IO[str] | IO[bytes]) -> ImportResult:
    """Import in one unit of work: committed only when every row is good."""
    with svc.uow(write=True) as uow:
        result = import_csv(uow.session, path_or_stream)
        if result.ok:
            uow.commit()
    return result


def import_csv(session: Session, path_or_stream: str | Path | IO[str] | IO[bytes], *,
               actor: str = CLI_ACTOR) -> ImportResult:
    """Import (or update) agencies from CSV ``code,name,level,parent_code`` (optionally
    ``short_name,valid_from,valid_to,successor_code``). Rows are checked first, all of them:
    if any is bad nothing is written and every bad row is reported with its line number.
    Parents and successors may come after the rows naming them."""
    result = ImportResult()
    try:
        header, rows = _read_rows(path_or_stream)
    except (UnicodeDecodeError, csv.Error) as exc:
        result.errors.append((1, _l("unreadable CSV (UTF-8 expected): %(error)s", error=str(exc))))
        return result
    missing = [c for c in CSV_COLUMNS if c not in (header or [])]
    if missing:
        result.errors.append((1, _l("missing columns: %(columns)s", columns=", ".join(missing))))
        return result

    in_file: dict[str, int] = {}
    for line, row in rows:
        code = (row.get("code") or "").strip()
        problem = code_problem(code)
        if problem:
            result.errors.append((line, problem))
        elif code in in_file:
            result.errors.append((line, _l("code %(code)s duplicates line %(line)s", code=code, line=in_file[code])))
        else:
            in_file[code] = line
        name = (row.get("name") or "").strip()
        if not name or len(name) > 255:
            result.errors.append((line, _l("name empty or longer than 255")))
        level = (row.get("level") or "").strip()
        if level not in AGENCY_LEVELS:
            result.errors.append((line, _l("level %(level)r must be one of %(levels)s", level=level,
                                           levels=", ".join(AGENCY_LEVELS))))
        parent = (row.get("parent_code") or "").strip()
        if parent and parent == code:
            result.errors.append((line, _l("an agency cannot be its own parent")))
        dates = {}
        for column in ("valid_from", "valid_to"):
            raw = (row.get(column) or "").strip()
            try:
                dates[column] = date.fromisoformat(raw) if raw else None
            except ValueError:
                result.errors.append((line, _l("%(column)s %(value)r is not a YYYY-MM-DD date", column=column,
                                               value=raw)))
        valid_from, valid_to = dates.get("valid_from"), dates.get("valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            result.errors.append((line, _l("valid_to precedes valid_from")))
        if (row.get("successor_code") or "").strip() == code and code:
            result.errors.append((line, _l("an agency cannot succeed itself")))

    existing = find_by_codes(session, list(in_file) + [(r.get(c) or "").strip() for _, r in rows
                                                       for c in ("parent_code", "successor_code")])
    parents_in_file = {code: (row.get("parent_code") or "").strip() for _, row in rows
                       for code in [(row.get("code") or "").strip()]}
    for line, row in rows:
        parent = (row.get("parent_code") or "").strip()
        if parent and parent not in in_file and parent not in existing:
            result.errors.append((line, _l("unknown parent_code %(code)s", code=parent)))
        successor = (row.get("successor_code") or "").strip()
        if successor and successor not in in_file and successor not in existing:
            result.errors.append((line, _l("unknown successor_code %(code)s", code=successor)))
    # a loop among the file's own parent links would make a tree with no root
    for code, line in in_file.items():
        seen, cur = {code}, parents_in_file.get(code)
        while cur and cur in parents_in_file:
            if cur in seen:
                result.errors.append((line, _l("parent loop through %(code)s", code=cur)))
                break
            seen.add(cur)
            cur = parents_in_file.get(cur)
    if result.errors:
        result.errors.sort(key=lambda error: error[0])  # by line; messages have no order
        return result

    savepoint = session.begin_nested()  # a successor loop is only visible once written
    agencies: dict[str, Agency] = dict(existing)
    for _line, row in rows:
        code = row["code"].strip()
        agency = agencies.get(code)
        fields_: dict[str, Any] = {"name": row["name"].strip(), "level": row["level"].strip(),
                                   "short_name": (row.get("short_name") or "").strip()[:100]}
        for column in ("valid_from", "valid_to"):
            raw = (row.get(column) or "").strip()
            if raw or column in row:
                fields_[column] = date.fromisoformat(raw) if raw else None
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
            result.errors.append((line, _l("successor loop")))
    if result.errors:
        savepoint.rollback()
        result.created = result.updated = 0
        return result
    savepoint.commit()
    audit_log.record(session, actor=actor, agency_code="", action="agencies.import", object="agencies",
                     details={"created": result.created, "updated": result.updated})
    return result
