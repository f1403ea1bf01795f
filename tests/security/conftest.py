"""Fixtures for the security review: every actor, resident A's objects, the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.estate import Estate


@pytest.fixture
def estate(app: Any, client: Any, idp: Any) -> Estate:
    return Estate(app, client, idp)


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()
