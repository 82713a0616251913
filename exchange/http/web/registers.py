"""Sổ văn bản đến / đi (``/registers/incoming``, ``/registers/outgoing``): one year's lines,
read through the service the API's ``GET /api/v1/registers/…`` uses; the CSV and the
printable PDF are the API's own (the page links to them: the session's cookie opens them)."""
from __future__ import annotations

from typing import Any

from flask import render_template, request

from errors import NotFound
from exchange.domain.enums import Register, Role
from exchange.domain.times import vn_today
from exchange.http.auth import services
from exchange.http.web.pages import caller, page
from exchange.http.web.routes import bp
from exchange.services import registers
from exchange.domain.numbers import whole_number
from translations import _l

YEARS_BACK = 10


@bp.get("/registers/<name>", endpoint="registers")
@page(Role.CLERK, Role.SIGNER, Role.AUDITOR)
def register(name: str) -> Any:
    if name not in {r.value for r in Register}:
        raise NotFound(_l("nothing is found at this address"))
    this_year = vn_today().year
    year = request.args.get("year", "")
    asked = whole_number(year)
    year_number = asked if asked is not None and this_year - YEARS_BACK <= asked <= this_year + 1 else this_year
    rows = registers.register_rows(services(), caller(), name, year_number)
    return render_template("web/register.html", name=name, rows=rows, year=year_number,
                           years=range(this_year, this_year - YEARS_BACK, -1))
