"""The verification budget's settings (issue 11, item 7)."""
from __future__ import annotations

import pytest

from settings import ConfigError, Settings


def test_defaults_and_values():
    default = Settings.from_env({})
    assert (default.verify_time_budget_s, default.verify_workers, default.verify_memory_mb) == (10.0, 2, 2048)
    set_ = Settings.from_env({"LIENTHONG_VERIFY_TIME_BUDGET": "2.5", "LIENTHONG_VERIFY_WORKERS": "4",
                              "LIENTHONG_VERIFY_MEMORY_MB": "0"})
    assert (set_.verify_time_budget_s, set_.verify_workers, set_.verify_memory_mb) == (2.5, 4, 0)


@pytest.mark.parametrize("name, value", [("VERIFY_TIME_BUDGET", "soon"), ("VERIFY_TIME_BUDGET", "-1"),
                                         ("VERIFY_WORKERS", "0"), ("VERIFY_MEMORY_MB", "lots")])
def test_bad_values_stop_start_up_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=f"LIENTHONG_{name}"):
        Settings.from_env({f"LIENTHONG_{name}": value})
