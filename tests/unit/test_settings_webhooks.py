"""The webhooks' settings: defaults (24 h of retries, no private addresses), values read, bad ones refused."""
from __future__ import annotations

import pytest

from settings import ConfigError, Settings


def test_the_defaults_refuse_private_addresses_and_retry_for_a_day():
    s = Settings.from_env({})
    assert (s.webhooks_allow_private, s.webhooks_retry_s, s.webhooks_backoff_s, s.webhooks_timeout_s,
            s.webhooks_lease_s, s.worker_poll_s) == (False, 86400, 10, 10, 60, 1)


def test_values_are_read():
    s = Settings.from_env({"LIENTHONG_WEBHOOKS_ALLOW_PRIVATE": "true", "LIENTHONG_WEBHOOKS_RETRY_SECONDS": "60",
                           "LIENTHONG_WEBHOOKS_BACKOFF": "0.2", "LIENTHONG_WEBHOOKS_TIMEOUT": "1",
                           "LIENTHONG_WEBHOOKS_LEASE": "3", "LIENTHONG_WORKER_POLL": "0.5"})
    assert (s.webhooks_allow_private, s.webhooks_retry_s, s.webhooks_backoff_s, s.webhooks_timeout_s,
            s.webhooks_lease_s, s.worker_poll_s) == (True, 60, 0.2, 1, 3, 0.5)


@pytest.mark.parametrize("env, name", [
    ({"LIENTHONG_WEBHOOKS_ALLOW_PRIVATE": "maybe"}, "LIENTHONG_WEBHOOKS_ALLOW_PRIVATE"),
    ({"LIENTHONG_WEBHOOKS_RETRY_SECONDS": "0"}, "LIENTHONG_WEBHOOKS_RETRY_SECONDS"),
    ({"LIENTHONG_WEBHOOKS_TIMEOUT": "0"}, "LIENTHONG_WEBHOOKS_TIMEOUT"),
    ({"LIENTHONG_WEBHOOKS_LEASE": "15"}, "LIENTHONG_WEBHOOKS_LEASE"),  # not above twice the 10 s timeout
    ({"LIENTHONG_WORKER_POLL": "x"}, "LIENTHONG_WORKER_POLL"),
])
def test_bad_values_stop_start_up_with_the_setting_named(env, name):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)
