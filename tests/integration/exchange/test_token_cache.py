"""The in-process token cache: fast repeated polls, and changes still take effect."""
from __future__ import annotations

import time

import sqlalchemy as sa

from exchange import token_cache, users
from exchange.models import ApiToken, User, utcnow
from storage.db import session_scope
from tests.exchange_fixtures import auth, build_world


def _world(app, engine):  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as s:
        return build_world(s)


def test_revocation_in_this_process_takes_effect_at_once(app, client, engine):
    world = _world(app, engine)
    headers = auth(world.agency_tokens[world.province])
    assert client.get("/api/v1/inbox", headers=headers).status_code == 200  # now cached
    with session_scope(engine, write=True) as s:
        users.revoke_token(s, world.agency_token_ids[world.province])
    assert client.get("/api/v1/inbox", headers=headers).status_code == 401


def test_role_change_and_deactivation_in_this_process_take_effect_at_once(app, client, engine):
    world = _world(app, engine)
    headers = auth(world.people["auditor"].token)
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    with session_scope(engine, write=True) as s:
        users.set_roles(s, world.people["auditor"].username, "clerk")
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    with session_scope(engine, write=True) as s:
        users.set_active(s, world.people["auditor"].username, False)
    assert client.get("/api/v1/agencies", headers=headers).status_code == 401


def test_a_change_made_by_another_process_is_seen_within_the_ttl(app, client, engine):
    """Another process's revocation is invisible to this cache; it must expire by itself."""
    token_cache.configure(0.5)
    try:
        world = _world(app, engine)
        headers = auth(world.agency_tokens[world.province])
        assert client.get("/api/v1/inbox", headers=headers).status_code == 200
        with engine.begin() as conn:  # as another process would: no cache clearing here
            conn.execute(sa.update(ApiToken).where(ApiToken.id == world.agency_token_ids[world.province])
                         .values(revoked_at=utcnow()))
        time.sleep(0.6)
        assert client.get("/api/v1/inbox", headers=headers).status_code == 401
    finally:
        token_cache.configure(2.0)


def test_ttl_zero_turns_the_cache_off(app, client, engine):
    token_cache.configure(0)
    try:
        world = _world(app, engine)
        headers = auth(world.people["clerk"].token)
        assert client.get("/api/v1/agencies", headers=headers).status_code == 200
        with engine.begin() as conn:
            conn.execute(sa.update(User).where(User.id == world.people["clerk"].id).values(active=False))
        assert client.get("/api/v1/agencies", headers=headers).status_code == 401
    finally:
        token_cache.configure(2.0)
