"""LIENTHONG_VERIFY_MAX_RENDERED_PAGES: the verifier's rendering budget is a setting."""
from __future__ import annotations

import pytest

from settings import ConfigError, Settings


def test_the_rendering_budget_defaults_to_100_pages_and_is_read_from_the_environment():
    assert Settings.from_env({}).verify_max_rendered_pages == 100
    assert Settings.from_env({"LIENTHONG_VERIFY_MAX_RENDERED_PAGES": "7"}).verify_max_rendered_pages == 7


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_budget_that_renders_nothing_is_refused_at_start_up(value):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LIENTHONG_VERIFY_MAX_RENDERED_PAGES": value})
    assert "LIENTHONG_VERIFY_MAX_RENDERED_PAGES" in info.value.one_line()
