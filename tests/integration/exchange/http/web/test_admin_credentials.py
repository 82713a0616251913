"""``/admin/credentials`` through Flask's test client: an administrator issues a signing
credential for an official with the signature image uploaded, and revokes another; both
audited with the administrator as the actor. A file that is no PNG is refused in words and
issues nothing; another province's administrator sees, issues and revokes none of ours;
no CSRF token, no change."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from certs.models import Credential
from exchange.models import AuditEvent
from tests.db import session_scope
from tests.exchange_fixtures import snapshot
from tests.integration.exchange.http.web.test_foundation import BROWSER, log_in
from tests.signing_world import pki_template, signing_world  # noqa: F401 (fixtures)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (300, 100), (0, 0, 200, 0)).save(out, "PNG")
    return out.getvalue()


def _issue(client, csrf: str | None, owner: str, image: bytes | None = None):  # type: ignore[no-untyped-def]
    data: dict = {"owner": owner}
    if csrf is not None:
        data["csrf_token"] = csrf
    if image is not None:
        data["image"] = (io.BytesIO(image), "chu-ky.png")
    return client.post("/admin/credentials", data=data, content_type="multipart/form-data", headers=BROWSER)


def _rows(engine, owner: str) -> list[Credential]:
    with session_scope(engine) as s:
        return list(s.execute(sa.select(Credential).where(Credential.owner_ref == owner)).scalars())


def test_an_admin_issues_with_the_image_and_revokes(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "admin")
    clerk = world.people["clerk"].username
    r = _issue(client, csrf, f"user:{clerk}", _png())
    assert r.status_code == 303, r.get_data(as_text=True)
    [row] = _rows(engine, clerk)
    assert row.image_png == _png() and row.revoked_at is None
    page = client.get("/admin/credentials", headers=BROWSER).get_data(as_text=True)
    assert f'id="credential-{row.id}"' in page and f'id="credential-{signing_world.credentials["signer"]}"' in page
    revoked = client.post(f"/admin/credentials/{signing_world.credentials['signer']}/revoke",
                          data={"csrf_token": csrf, "reason": "keyCompromise"}, headers=BROWSER)
    assert revoked.status_code == 303
    with session_scope(engine) as s:
        signer = s.get(Credential, signing_world.credentials["signer"])
        assert signer.revoked_at is not None and signer.revocation_reason == "keyCompromise"
        actions = s.execute(sa.select(AuditEvent.action).where(
            AuditEvent.actor == world.people["admin"].username, AuditEvent.action.like("credential.%"))).scalars().all()
    assert sorted(actions) == ["credential.issue", "credential.revoke"]


def test_a_bad_image_or_reason_or_missing_token_changes_nothing(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "admin")
    before = snapshot(engine, app)
    bad = _issue(client, csrf, f"user:{world.people['clerk'].username}", b"GIF89a not a png")
    assert bad.status_code == 422 and "PNG" in bad.get_data(as_text=True)
    assert _issue(client, csrf, "nobody").status_code == 422
    assert _issue(client, None, f"user:{world.people['clerk'].username}").status_code == 400
    assert client.post(f"/admin/credentials/{signing_world.credentials['seal']}/revoke",
                       data={"csrf_token": csrf, "reason": "because"}, headers=BROWSER).status_code == 422
    assert snapshot(engine, app) == before


def test_another_provinces_admin_touches_none_of_ours(app, client, signing_world, engine):
    world = signing_world.world
    csrf = log_in(client, world, "other_admin")
    page = client.get("/admin/credentials", headers=BROWSER).get_data(as_text=True)
    assert f'id="credential-{signing_world.credentials["signer"]}"' not in page
    before = snapshot(engine, app)
    assert _issue(client, csrf, f"user:{world.people['clerk'].username}").status_code == 404
    assert _issue(client, csrf, f"agency:{world.province}").status_code == 404
    assert client.post(f"/admin/credentials/{signing_world.credentials['seal']}/revoke",
                       data={"csrf_token": csrf, "reason": "unspecified"}, headers=BROWSER).status_code == 404
    assert snapshot(engine, app) == before
