"""Settings: embedded defaults, environment parsing, one-line errors."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from settings import ConfigError, Settings, load_or_create_secret


def test_no_environment_gives_embedded_defaults():
    s = Settings.from_env({})
    assert s.data_dir == Path("var")
    assert s.s3 is None
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.effective_database_url.endswith("var/lienthong.db")
    assert s.port == 5000 and s.base_url == "http://127.0.0.1:5000"
    assert s.max_upload_mb == 200
    assert s.language == "vi"


def test_environment_selects_postgres_and_minio():
    s = Settings.from_env({
        "LIENTHONG_DATABASE_URL": "postgresql+psycopg://u@db/x",
        "LIENTHONG_S3_ENDPOINT": "minio:9000",
        "LIENTHONG_S3_ACCESS_KEY": "ak",
        "LIENTHONG_S3_SECRET_KEY": "sk-very-secret",
        "LIENTHONG_S3_BUCKET": "docs",
        "LIENTHONG_S3_SECURE": "true",
        "LIENTHONG_S3_RETENTION_DAYS": "3650",
        "LIENTHONG_S3_RETENTION_MODE": "compliance",
        "LIENTHONG_PORT": "8080",
    })
    assert s.effective_database_url == "postgresql+psycopg://u@db/x"
    assert s.s3 is not None and s.s3.bucket == "docs" and s.s3.secure is True
    assert s.s3.retention_days == 3650 and s.s3.retention_mode == "COMPLIANCE"
    assert s.base_url == "http://127.0.0.1:8080"
    assert "sk-very-secret" not in repr(s)


def test_the_cli_language_is_vietnamese_or_english():
    assert Settings.from_env({"LIENTHONG_LANGUAGE": "en"}).language == "en"
    assert Settings.from_env({"LIENTHONG_LANGUAGE": " VI "}).language == "vi"


@pytest.mark.parametrize("env, fragment", [
    ({"LIENTHONG_DATABASE_URL": "mysql://root@localhost/x"}, "unknown scheme 'mysql'"),
    ({"LIENTHONG_PORT": "eighty"}, "LIENTHONG_PORT"),
    ({"LIENTHONG_PORT": "70000"}, "not a TCP port"),
    ({"LIENTHONG_S3_ENDPOINT": "minio:9000"}, "ACCESS_KEY"),
    ({"LIENTHONG_S3_ENDPOINT": "http://minio:9000", "LIENTHONG_S3_ACCESS_KEY": "a",
      "LIENTHONG_S3_SECRET_KEY": "b"}, "without a scheme"),
    ({"LIENTHONG_S3_ENDPOINT": "m:9000", "LIENTHONG_S3_ACCESS_KEY": "a", "LIENTHONG_S3_SECRET_KEY": "b",
      "LIENTHONG_S3_SECURE": "maybe"}, "yes/no"),
    ({"LIENTHONG_S3_ENDPOINT": "m:9000", "LIENTHONG_S3_ACCESS_KEY": "a", "LIENTHONG_S3_SECRET_KEY": "b",
      "LIENTHONG_S3_RETENTION_MODE": "forever"}, "COMPLIANCE or GOVERNANCE"),
    ({"LIENTHONG_MAX_UPLOAD_MB": "0"}, "at least 1"),
    ({"LIENTHONG_PROXY_HOPS": "two"}, "LIENTHONG_PROXY_HOPS"),
    ({"LIENTHONG_PROXY_HOPS": "9"}, "reverse proxies"),
    ({"LIENTHONG_LANGUAGE": "fr"}, "LIENTHONG_LANGUAGE='fr'; use one of vi, en"),
])
def test_bad_settings_raise_one_line(env, fragment):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert not isinstance(info.value, SystemExit)  # an ordinary exception: raised at start-up only
    text = info.value.one_line()
    assert fragment in text
    assert "\n" not in text and text.startswith("lienthong: configuration error:")


def test_secret_is_generated_once_private_and_kept(tmp_path):
    path = tmp_path / "d" / "secret_key"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_truncated_secret_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_bytes(b"short")
    with pytest.raises(ConfigError):
        load_or_create_secret(path)
