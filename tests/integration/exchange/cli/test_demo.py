"""``flask demo seed``: Vĩnh Long's demo world, its printed credentials, --if-missing."""
from __future__ import annotations

import re

import sqlalchemy as sa

from exchange.domain.codes import code_problem
from exchange.services import demo
from exchange.services import directory as agencies
from exchange.models import Agency
from tests.db import session_scope
from tests.exchange_fixtures import auth


def test_seed_prints_working_credentials_and_is_idempotent_with_if_missing(app, client, engine):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["demo", "seed"])
    assert out.exit_code == 0, out.output
    expected_agencies = 1 + len(demo.DISTRICTS) + sum(len(c) for _, c in demo.DISTRICTS)
    with session_scope(engine) as s:
        assert s.exec(sa.select(sa.func.count()).select_from(Agency)).scalar() == expected_agencies
        communes = agencies.descendants(s, demo.PROVINCE_CODE, "commune")
        assert len(communes) == expected_agencies - 1 - len(demo.DISTRICTS)
        assert all(code_problem(a.code) is None for a in communes)

    password = re.search(r"vanthu\.vinhlong\s+\S+\s+(\S+)", out.stdout).group(1)
    login = client.post("/api/v1/session", json={"username": "vanthu.vinhlong", "password": password})
    assert login.status_code == 200 and login.json["agency_code"] == demo.PROVINCE_CODE
    token = re.search(rf"{re.escape(demo.PROVINCE_CODE)}\s+(lt_\S+)", out.stdout).group(1)
    assert client.get(f"/api/v1/agencies?parent={demo.PROVINCE_CODE}", headers=auth(token)).status_code == 200
    if "chứng thư" in out.stdout:  # certs issued the signers' and agencies' credentials
        assert "person chutich.vinhlong" in out.stdout and f"seal {demo.PROVINCE_CODE}" in out.stdout

    again = runner.invoke(args=["demo", "seed", "--if-missing"])
    assert again.exit_code == 0 and "lt_" not in again.stdout
    refused = runner.invoke(args=["demo", "seed"])
    assert refused.exit_code == 1
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
