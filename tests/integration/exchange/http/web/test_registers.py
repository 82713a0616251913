"""Sổ văn bản đến / đi in the pages: the year's lines, their CSV and print links (the API's,
opened with the session's cookie), and never another agency's register."""
from __future__ import annotations

import pytest

from tests.db import session_scope
from tests.exchange_fixtures import build_world
from tests.integration.exchange.http.web.test_foundation import BROWSER, csrf_of, log_in
from tests.integration.exchange.http.web.test_incoming import _delivery, _send


@pytest.fixture
def world(engine):
    with session_scope(engine, write=True) as s:
        return build_world(s)


def test_the_incoming_register_shows_the_year_and_links_csv_and_print(app, client, world, engine):
    district = world.districts[0]
    doc = _send(app, world, engine, "Văn bản vào sổ đến", "normal", [district])
    csrf = log_in(client, world, "district_clerk")
    delivery = _delivery(engine, doc, world.agency_ids[district])
    client.post(f"/incoming/{delivery.id}/status", data={"csrf_token": csrf, "status": "accepted"})
    html = client.get("/registers/incoming").get_data(as_text=True)
    assert "Văn bản vào sổ đến" in html and "Sổ văn bản đến" in html
    year = html.split("/api/v1/registers/incoming?year=")[1].split("&")[0]
    assert f"/api/v1/registers/incoming?year={year}&amp;format=pdf" in html
    csv = client.get(f"/api/v1/registers/incoming?year={year}&format=csv")
    assert csv.status_code == 200 and "Văn bản vào sổ đến" in csv.data.decode("utf-8-sig")
    pdf = client.get(f"/api/v1/registers/incoming?year={year}&format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "Văn bản vào sổ đến" not in client.get("/registers/incoming?year=2020").get_data(as_text=True)
    assert client.get("/registers/nothing", headers=BROWSER).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_of(html)})
    log_in(client, world, "other_clerk")
    assert "Văn bản vào sổ đến" not in client.get("/registers/incoming").get_data(as_text=True)
    assert "Sổ văn bản đi" in client.get("/registers/outgoing").get_data(as_text=True)
