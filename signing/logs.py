"""Keep pyHanko's logs useful: an untrusted certificate is an ordinary verification result
(the report says NO_CERTIFICATE_CHAIN_FOUND), not a reason for a traceback in the log of
every document an auditor checks."""
from __future__ import annotations

import logging

from pyhanko_certvalidator.errors import PathBuildingError

_EXPECTED = (PathBuildingError,)
_LOGGERS = ("pyhanko.sign.validation.generic_cms",)


class DropExpectedTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _EXPECTED):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_validation_tracebacks() -> None:
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropExpectedTracebacks) for f in logger.filters):
            logger.addFilter(DropExpectedTracebacks())
