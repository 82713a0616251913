"""Agency codes in the QCVN 102 form."""
from __future__ import annotations

import pytest

from exchange.domain.codes import code_problem


@pytest.mark.parametrize("code", ["000.00.00.H62", "002.00.20.H13", "000.00.00.G22", "000.01.01.H62", "A1.B2"])
def test_well_formed_codes(code):
    assert code_problem(code) is None


@pytest.mark.parametrize("code", ["", "H62", "000.00.00.h62", "000..00.H62", ".000.00.H62", "000.00.00.H62.",
                                  "000 00 00 H62", "000.00.00.Ĥ62", "0" * 33 + ".A1", None, 62])
def test_malformed_codes(code):
    assert code_problem(code) is not None
