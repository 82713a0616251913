"""Every operation of ``/api/v1/openapi.json`` fuzzed by schemathesis, over the real WSGI app,
for a clerk and for an agency's system: no 5xx, no status the document does not list, no
response outside its schema or content type (every check schemathesis offers).

``LIENTHONG_FUZZ_EXAMPLES`` sets the examples per operation and caller (a few here, so that
the run stays within CI's minutes; ``make fuzz`` runs many more).

The operations are walked here rather than through ``schema.parametrize()``: its lazy
fixture-based form (``schemathesis.pytest.from_fixture``) fails on pytest 9 ('Function'
object has no attribute '_nodeid'), and the app (so the document) only exists inside a test.
"""
from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import Failure

from translations import _l, translate

from errors import ErrorCode
from tests.db import engine_from_app, session_scope
from tests.exchange_fixtures import PROVINCE, World, build_world, upload_via_api

EXAMPLES = int(os.environ.get("LIENTHONG_FUZZ_EXAMPLES", "5"))
# no shrinking: a failure is reported with the case that found it, and CI's minutes are kept
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture
def fuzz_world(app: Any) -> World:
    with session_scope(engine_from_app(app), write=True) as session:
        world = build_world(session)
    # one real document: half the cases name it (a random id names nothing, and the
    # answers that carry data, so their schemas, would go unchecked)
    upload = upload_via_api(app.test_client(), world.headers("clerk"))
    assert upload.status_code == 201
    world.extra["document_id"] = upload.get_json()["id"]
    return world


INVALID_INPUT = translate(_l("invalid input"), "vi")


def schema_valid_input_passes_the_field_rules(ctx: Any, response: Any, case: Any) -> None:
    """schemathesis's ``positive_data_acceptance``, narrowed: a request the document calls
    valid may still break a rule of the domain (not a PDF, a signature box too small, a
    document in the wrong state: their own codes), but never the fields' own rules, the
    generic ``invalid input``: then the document does not say what the fields accept."""
    if response.status_code != 422 or case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    error = (response.json() or {}).get("error", {})
    if error.get("code") == ErrorCode.INVALID and error.get("message") == INVALID_INPUT:
        raise Failure(operation=case.operation.label, title="Schema-valid field refused",
                      message=f"the document allows what the fields refuse: {error.get('fields')}")
    return None


def _broken_contracts(app: Any, headers: dict[str, str], known_ids: dict[str, int]) -> list[str]:
    """Each operation's first failure, as ``METHOD /path: what failed``."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    broken: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the document lost its operations"
    for operation in operations:
        @given(case=operation.as_strategy(), name_real_objects=st.booleans())
        @FUZZ_SETTINGS
        def keeps_its_contract(case: Any, name_real_objects: bool) -> None:
            if name_real_objects and case.path_parameters:
                case.path_parameters.update({k: v for k, v in known_ids.items() if k in case.path_parameters})
            case.call_and_validate(headers=headers, excluded_checks=[schemathesis.checks.positive_data_acceptance],
                                   additional_checks=[schema_valid_input_passes_the_field_rules])

        try:
            keeps_its_contract()
        except (Exception, BaseExceptionGroup) as failure:  # every operation's, not only the first one's
            broken.append(f"{operation.label}: {_summary(failure)}")
    return broken


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["clerk", PROVINCE])  # a person of the province, the province's system
def test_every_operation_keeps_its_contract(app: Any, fuzz_world: World, caller: str) -> None:
    broken = _broken_contracts(app, fuzz_world.headers(caller), {"document_id": fuzz_world.extra["document_id"]})
    assert broken == [], "\n\n".join(broken)


def _summary(failure: BaseException) -> str:
    """The failure's own text (schemathesis's says which check, the response and a curl line)."""
    return str(failure)
