"""The observability settings: the metrics token (never shown) and the log format."""
from __future__ import annotations

import pytest

from settings import ConfigError, Settings


def test_the_metrics_token_and_the_log_format_are_read():
    settings = Settings.from_env({"LIENTHONG_METRICS_TOKEN": " s3cret-metrics ", "LIENTHONG_LOG_FORMAT": "JSON"})
    assert (settings.metrics_token, settings.log_format) == ("s3cret-metrics", "json")
    assert "s3cret-metrics" not in repr(settings)
    assert (Settings.from_env({}).metrics_token, Settings.from_env({}).log_format) == (None, "text")


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ConfigError, match="LIENTHONG_LOG_FORMAT"):
        Settings.from_env({"LIENTHONG_LOG_FORMAT": "xml"})
