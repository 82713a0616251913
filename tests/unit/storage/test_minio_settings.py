"""Building the MinIO store from settings: no network, bad settings are one-line errors."""
from __future__ import annotations

import pytest

from settings import ConfigError, S3Settings
from storage.minio_store import MinioBlobStore


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
    store = MinioBlobStore.from_settings(S3Settings("minio:9000", "a", "b"), connect_timeout=2, retries=1)
    pool_kw = store.client._http.connection_pool_kw  # noqa: SLF001
    assert pool_kw["timeout"].connect_timeout == 2
    assert pool_kw["retries"].total == 1
