"""Fixtures for the fuzzing run: generous rate limits, every actor with credentials and objects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.estate import Estate


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """Rate limits high enough that fuzzing reaches the handlers instead of a 429."""
    return {**config, "RATE_LIMIT_RIGHTS": "100000/60", "RATE_LIMIT_REPORTS": "100000/60",
            "RATE_LIMIT_REPORT_VERIFY": "100000/60", "RATE_LIMIT_TOKENS": "100000/60",
            "RATE_LIMIT_LOGIN": "100000/60", "RATE_LIMIT_INGEST": "100000/60"}


@pytest.fixture
def estate(app: Any, client: Any, idp: Any) -> Estate:
    return Estate(app, client, idp)
