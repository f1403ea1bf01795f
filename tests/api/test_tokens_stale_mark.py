"""A replay pre-check mark left behind by a process that died mid-request does not burn the
token: the database, not the fast store, decides whether a token was used."""

from __future__ import annotations

import base64
import json

import pytest

from app.runtime import runtime
from rewards.errors import TokenReplayed
from tests.support.tokens import World, consume_as


def _jti(token: str) -> str:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["jti"]


def test_a_mark_without_a_committed_consumption_does_not_refuse_the_token(world: World) -> None:
    token = world.token()
    with world.app.app_context():
        assert runtime().store.add(f"jti:{_jti(token)}", 300)  # a killed worker's leftover
    claims = consume_as(world.app, world.hospital, token)
    assert claims.jti == _jti(token)
    with pytest.raises(TokenReplayed):  # and once really used, it stays used
        consume_as(world.app, world.hospital, token)
