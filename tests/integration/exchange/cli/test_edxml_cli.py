"""``flask --app app edxml import FILE --agency CODE``, as an operator runs it: a package
addressed to the agency lands in its inbox (audited as ``cli``); a malformed one and one not
addressed to it are refused with their message and exit 1, changing nothing."""
from __future__ import annotations

import json

from sqlmodel import select

from exchange.models import AuditEvent, Delivery
from tests.db import session_scope
from tests.exchange_fixtures import build_world
from tests.integration.exchange.edxml_support import package, sample
from tests.flask_cli import run_flask_side_by_side


def test_edxml_import_at_the_command_line(engine, settings, tmp_path):
    with session_scope(engine, write=True) as s:
        w = build_world(s)
    commune = w.all_communes[0]
    good, malformed, elsewhere = tmp_path / "goi.edxml", tmp_path / "hong.edxml", tmp_path / "khac.edxml"
    good.write_bytes(package(w.other_province, [commune]))
    malformed.write_bytes(sample("edoc.edxml", {}))
    elsewhere.write_bytes(package(w.other_province, [w.all_communes[1]]))
    imported, refused, not_ours = run_flask_side_by_side(settings, [
        ("edxml", "import", str(good), "--agency", commune),
        ("edxml", "import", str(malformed), "--agency", commune),
        ("edxml", "import", str(elsewhere), "--agency", commune),
    ])
    assert imported.returncode == 0, imported.stderr
    answer = json.loads(imported.stdout)
    assert answer["delivery"]["status"] == "queued" and answer["document"]["issuer"] == w.other_province
    assert refused.returncode == 1 and "XML" in refused.stderr
    assert not_ours.returncode == 1 and "To" in not_ours.stderr
    with session_scope(engine) as s:
        copies = s.exec(select(Delivery)).all()
        assert [(d.id, d.recipient_agency_id) for d in copies] == [(answer["delivery"]["id"], w.agency_ids[commune])]
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "edxml.import")).one()
        assert event.actor == "cli" and event.agency_code == commune
