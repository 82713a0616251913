"""The in-process token cache: fast repeated polls, and changes still take effect."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app import create_app
from exchange.models import ApiToken, User, utcnow
from exchange.services import accounts
from tests.db import services_of, session_scope
from tests.exchange_fixtures import auth, build_world


def _world(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


@pytest.fixture
def app_with_ttl(settings):  # type: ignore[no-untyped-def]
    made = []

    def make(ttl: float):  # type: ignore[no-untyped-def]
        made.append(create_app(settings.with_changes(token_cache_seconds=ttl)))
        return made[-1]

    yield make
    for application in made:
        services_of(application).close()


def test_revocation_in_this_process_takes_effect_at_once(app, client, engine):
    world = _world(engine)
    headers = auth(world.agency_tokens[world.province])
    assert client.get("/api/v1/inbox", headers=headers).status_code == 200  # now cached
    accounts.revoke_token(services_of(app), world.agency_token_ids[world.province])
    assert client.get("/api/v1/inbox", headers=headers).status_code == 401


def test_role_change_and_deactivation_in_this_process_take_effect_at_once(app, client, engine):
    world = _world(engine)
    headers = auth(world.people["auditor"].token)
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    accounts.change_roles(services_of(app), world.people["auditor"].username, "clerk")
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    accounts.change_active(services_of(app), world.people["auditor"].username, False)
    assert client.get("/api/v1/agencies", headers=headers).status_code == 401


def test_a_change_made_by_another_process_is_seen_within_the_ttl(app_with_ttl, engine):
    """Another process's revocation is invisible to this cache; it must expire by itself."""
    client = app_with_ttl(0.5).test_client()
    world = _world(engine)
    headers = auth(world.agency_tokens[world.province])
    assert client.get("/api/v1/inbox", headers=headers).status_code == 200
    with engine.begin() as conn:  # as another process would: no cache clearing here
        conn.execute(sa.update(ApiToken).where(ApiToken.id == world.agency_token_ids[world.province])
                     .values(revoked_at=utcnow()))
    assert client.get("/api/v1/inbox", headers=headers).status_code == 200  # still cached
    time.sleep(0.6)
    assert client.get("/api/v1/inbox", headers=headers).status_code == 401


def test_ttl_zero_turns_the_cache_off(app_with_ttl, engine):
    client = app_with_ttl(0).test_client()
    world = _world(engine)
    headers = auth(world.people["clerk"].token)
    assert client.get("/api/v1/agencies", headers=headers).status_code == 200
    with engine.begin() as conn:
        conn.execute(sa.update(User).where(User.id == world.people["clerk"].id).values(active=False))
    assert client.get("/api/v1/agencies", headers=headers).status_code == 401


def test_two_apps_in_one_process_never_share_cached_callers(app_with_ttl, engine):
    """The cache belongs to its Services object: a revocation through one app is not hidden
    by the other app's cache beyond its own ttl, and each starts empty."""
    first, second = app_with_ttl(60), app_with_ttl(60)
    world = _world(engine)
    secret = world.agency_tokens[world.province]
    assert first.test_client().get("/api/v1/inbox", headers=auth(secret)).status_code == 200
    digest = accounts.hash_secret(secret)
    assert services_of(first).token_cache.get(digest) is not None
    assert services_of(second).token_cache.get(digest) is None
    accounts.revoke_token(services_of(second), world.agency_token_ids[world.province])
    assert second.test_client().get("/api/v1/inbox", headers=auth(secret)).status_code == 401
