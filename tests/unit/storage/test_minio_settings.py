"""Building the MinIO store from settings: no network, bad settings are one-line errors."""
from __future__ import annotations

import pytest

from settings import ConfigError, S3Settings, Settings
from storage.minio_store import MinioBlobStore, worst_case_seconds


@pytest.mark.parametrize("endpoint", ["minio:9000/path", "minio:notaport"])
def test_a_malformed_endpoint_is_a_config_error(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="LIENTHONG_S3_ENDPOINT"):
        MinioBlobStore.from_settings(S3Settings(endpoint, "access", "secret"))


@pytest.mark.parametrize("bucket", ["Bad_Bucket", "ab", "-starts-with-dash"])
def test_a_malformed_bucket_is_a_config_error(bucket: str) -> None:
    with pytest.raises(ConfigError, match="LIENTHONG_S3_BUCKET"):
        MinioBlobStore.from_settings(S3Settings("minio:9000", "access", "secret", bucket=bucket))


def test_the_store_carries_the_retention_settings_and_keeps_keys_out_of_its_repr() -> None:
    store = MinioBlobStore.from_settings(S3Settings(
        "minio:9000", "the-access-key", "the-secret-key", bucket="docs",
        retention_days=3650, retention_mode="COMPLIANCE"))
    assert (store.bucket, store.retention_days, store.retention_mode) == ("docs", 3650, "COMPLIANCE")
    assert "the-secret-key" not in repr(store) and "the-secret-key" not in repr(vars(store))


def test_the_http_pool_gives_up_quickly() -> None:
    s3 = S3Settings("minio:9000", "a", "b", connect_timeout=2, read_timeout=4, connect_retries=1)
    store = MinioBlobStore.from_settings(s3)
    pool_kw = store.client._http.connection_pool_kw  # noqa: SLF001
    assert pool_kw["timeout"].connect_timeout == 2 and pool_kw["timeout"].read_timeout == 4
    retries = pool_kw["retries"]
    assert (retries.total, retries.connect, retries.read, retries.status) == (1, 1, 0, 0)  # reads never stack
    assert worst_case_seconds(2, 4, 1) < 10


def test_the_defaults_fail_within_ten_seconds() -> None:
    s3 = Settings.from_env({"LIENTHONG_S3_ENDPOINT": "minio:9000", "LIENTHONG_S3_ACCESS_KEY": "a",
                            "LIENTHONG_S3_SECRET_KEY": "b"}).s3
    assert s3 is not None
    assert worst_case_seconds(s3.connect_timeout, s3.read_timeout, s3.connect_retries) <= 10


@pytest.mark.parametrize("name,value", [("S3_CONNECT_TIMEOUT", "0"), ("S3_READ_TIMEOUT", "abc"),
                                        ("S3_RETRIES", "-1")])
def test_bad_timeouts_are_config_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"LIENTHONG_{name}"):
        Settings.from_env({"LIENTHONG_S3_ENDPOINT": "minio:9000", "LIENTHONG_S3_ACCESS_KEY": "a",
                           "LIENTHONG_S3_SECRET_KEY": "b", f"LIENTHONG_{name}": value})
