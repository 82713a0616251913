"""Every file of the shared public corpus (`../shared/corpus`, MANIFEST.tsv) through verify().

The files stay where they are (several have no licence that allows copying them); the test
skips with a reason when the folder is absent.

How an expectation text of MANIFEST.tsv maps to the indications we accept (first match wins):

| expectation starts with / contains     | accepted            | why |
|----------------------------------------|---------------------|-----|
| "unsigned"                             | NO_SIGNATURE        | nothing signed, nothing to judge |
| "robustness"                           | not PASSED          | any verdict but "valid"; the time bound ends it |
| "signer test"                          | PASSED, INDETERMINATE | an honest certified file; the test is about signing |
| "valid"  (incl. "valid with permitted") | PASSED, INDETERMINATE | intact; signed by test CAs we do not trust, so INDETERMINATE is the right answer |
| "indeterminate"                        | INDETERMINATE       | intact but unverifiable (no certificate, weak algorithm) |
| "invalid", "modified"                  | FAILED              | bytes or document changed after signing, malformed signature |
| a non-PDF (edXML)                      | FAILED              | not a PDF: never a valid PDF signature |
| trust material (.pem)                  | not run             | certificates, not documents |

`KNOWN_STRICTER` lists where we deliberately answer FAILED although EU DSS accepts the file
(docs/verification-policy.md explains each); the test pins that answer so a change is seen.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from signing.report import FAILED, INDETERMINATE, NO_SIGNATURE, PASSED
from signing.verify import verify

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
MANIFEST = CORPUS / "MANIFEST.tsv"

RULES: list[tuple[str, set[str]]] = [
    ("unsigned", {NO_SIGNATURE}),
    ("robustness", {FAILED, INDETERMINATE, NO_SIGNATURE}),
    ("signer test", {PASSED, INDETERMINATE}),
    ("valid", {PASSED, INDETERMINATE}),
    ("indeterminate", {INDETERMINATE}),
    ("invalid", {FAILED}),
    ("modified", {FAILED}),
]

KNOWN_STRICTER: dict[str, str] = {
    # (empty since issue 11 item 5: "dss/pades-signed-annot-added.pdf" gives the catalog a new
    # /Names dictionary holding only /AP, Acrobat's cache of comment icons, which
    # signing/checks/structure.py now permits with the annotations, as DSS does)
}


def _rows() -> list[dict[str, str]]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def allowed(path: str, expectation: str) -> set[str] | None:
    if path.endswith(".pem"):
        return None
    if not path.endswith(".pdf"):
        return {FAILED}
    text = expectation.strip().lower()
    for prefix, indications in RULES:
        if text.startswith(prefix):
            return indications
    raise AssertionError(f"no rule for the expectation {expectation!r} of {path}: add one to RULES")


ROWS = _rows()


@pytest.mark.skipif(not ROWS, reason=f"public corpus not found at {CORPUS} (it is never copied into the project)")
@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS] or None)
def test_corpus_file(row: dict[str, str]) -> None:
    accepted = allowed(row["path"], row["expected_outcome"])
    if accepted is None:
        pytest.skip("trust material, not a document")
    data = (CORPUS / row["path"]).read_bytes()
    report = verify(data, trust_roots=[], time_budget_s=5.0)
    got = report.indication
    if row["path"] in KNOWN_STRICTER:
        assert got == FAILED, f"{row['path']}: known stricter case changed to {got}; update KNOWN_STRICTER"
        return
    assert got in accepted, (f"{row['path']}: expected {sorted(accepted)} for {row['expected_outcome']!r}, "
                             f"got {got}/{report.sub_indication}; findings={[f.code for f in report.findings]}")
    assert got != PASSED or report.signatures, "PASSED needs a signature"


def test_an_appearance_cache_in_names_is_permitted_with_the_comment_it_belongs_to() -> None:
    """Item 5 of issue 11: the file EU DSS accepts (comments + /Names /AP) is intact, not FAILED."""
    path = CORPUS / "dss" / "pades-signed-annot-added.pdf"
    if not path.exists():
        pytest.skip(f"public corpus not found at {CORPUS}")
    report = verify(path.read_bytes(), trust_roots=[], time_budget_s=5.0)
    assert report.indication == INDETERMINATE, [f.code for f in report.findings]  # intact, test root untrusted
    assert [s.modification for s in report.signatures] == ["annotations"]


def test_the_mapping_names_every_expectation_in_the_manifest() -> None:
    if not ROWS:
        pytest.skip(f"public corpus not found at {CORPUS}")
    for row in ROWS:
        allowed(row["path"], row["expected_outcome"])  # raises for an expectation without a rule
