"""Issue 11 over HTTP, on documents the service itself signed with its development PKI
(person, then agency seal over a third of the person's signature, Decree 30): the honest
file is PASSED through ``POST /api/v1/verify``, so every later change the verifier missed
would read PASSED too — here each reads FAILED, and a page past the rendering budget
(``LIENTHONG_VERIFY_MAX_RENDERED_PAGES``, here 1) reads INDETERMINATE."""
from __future__ import annotations

import io

import pytest

from settings import Settings
from tests import view_fixtures as vf
from tests.signing_world import content, pki_template, register, signing_world, upload  # noqa: F401 (fixtures)

TEXT = "So tien 1000 dong"  # drawn at (72, 720), Helvetica 12 pt, on both pages
LINE = (60, 712, 300, 735)
# the "1" of "1000": x = 72 + width of "So tien " (40.69 pt in Helvetica 12 pt), 6.67 pt wide
DIGIT = (112.7, 718.0, 119.4, 729.0)


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True, verify_max_rendered_pages=1)


@pytest.fixture
def sealed(client, signing_world) -> bytes:  # type: ignore[no-untyped-def]
    sw = signing_world
    doc_id = upload(client, sw, text=TEXT)
    for who, profile in (("signer", "person"), ("clerk", "seal")):
        if profile == "seal":
            register(client, sw, doc_id)  # Decree 30: the number before the seal
        r = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers(who), json={"profile": profile})
        assert r.status_code == 201, r.get_json()
    return content(client, sw, doc_id)


def _verify(client, signing_world, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/verify", headers=signing_world.headers("auditor"), content_type="multipart/form-data",
                    data={"file": (io.BytesIO(data), "van-ban.pdf")})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _codes(report: dict) -> set[str]:
    return {f["code"] for f in report["findings"]}


def test_the_sealed_document_passes(client, signing_world, sealed):
    report = _verify(client, signing_world, sealed)
    assert report["indication"] == "PASSED", report


ATTACKS = {
    "cover printed, not on screen": lambda d: vf.add_annotation(d, rect=LINE, flags=4 | 32),
    "cover as rollover appearance": lambda d: vf.add_annotation(d, rect=LINE, appearance="rollover"),
    "cover as another /AS state": lambda d: vf.add_annotation(d, rect=LINE, appearance="state"),
    "FreeText without appearance": lambda d: vf.add_annotation(d, rect=LINE, subtype="/FreeText", appearance="none"),
    "empty signature widget over one digit": lambda d: vf.add_empty_signature_field(
        d, LINE, vf.one_digit_ops(LINE, DIGIT)),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_change_only_some_viewer_shows_is_failed(client, signing_world, sealed, attack):
    report = _verify(client, signing_world, ATTACKS[attack](sealed))
    assert report["indication"] == "FAILED", report
    assert _codes(report) & {"CONTENT_COVERED", "VISUAL_CHANGE"}, report
    assert report["signatures"][-1]["indication"] == "FAILED"  # the seal's signed content was changed too


def test_honest_comment_on_blank_paper_passes(client, signing_world, sealed):
    """On the last page, the one the signatures are on: the only page rendered."""
    comment = vf.add_annotation(sealed, rect=(300, 400, 360, 460), flags=4 | 32, page_index=1)
    report = _verify(client, signing_world, comment)
    assert report["indication"] == "PASSED", report
    assert "ANNOTATIONS_ADDED" in _codes(report)


def test_pages_past_the_rendering_budget_are_indeterminate(client, signing_world, sealed):
    """A comment on page 1 besides the signatures on page 2: two pages changed after the
    person signed, a budget of one: not PASSED, and the report says why."""
    report = _verify(client, signing_world, vf.add_annotation(sealed, rect=(300, 400, 360, 460)))
    assert report["indication"] == "INDETERMINATE", report
    assert "VISUAL_CHECK_INCOMPLETE" in _codes(report)
