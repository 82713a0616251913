"""An untrusted chain is logged as one line, without a traceback."""
from __future__ import annotations

import logging

from pyhanko_certvalidator.errors import PathBuildingError

from signing.logs import quiet_expected_validation_tracebacks


def test_path_building_failure_logs_without_traceback(caplog):
    quiet_expected_validation_tracebacks()
    logger = logging.getLogger("pyhanko.sign.validation.generic_cms")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("Failed to build path for X", exc_info=PathBuildingError("no issuer"))
        logger.warning("something else", exc_info=ValueError("boom"))
    first, second = caplog.records
    assert first.getMessage() == "Failed to build path for X" and first.exc_info is None
    assert second.exc_info is not None  # unexpected errors keep their traceback
    assert "Traceback" not in caplog.text.split("something else")[0]
