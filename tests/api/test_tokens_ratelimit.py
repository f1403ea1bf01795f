"""Asking for tokens is rate-limited per resident (each one costs a signature)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tokens import World, ask_token


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "RATE_LIMIT_TOKENS": "3/60"}


def test_a_resident_asking_too_many_tokens_gets_429_with_retry_after(world: World) -> None:
    for _ in range(3):
        assert ask_token(world.client, world.resident, "medical_credit",
                         world.hospital.client_id).status_code == 201
    refused = ask_token(world.client, world.resident, "medical_credit", world.hospital.client_id)
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
