"""Arrangements for the browser tests, made through the real services and APIs."""

from __future__ import annotations

from typing import Any

from tests.support.factories import login, new_partner, new_source
from tests.support.tokens import good_history, push


def resident_without_consent(app: Any, client: Any, idp: Any, n: int = 11,
                             name: str = "李四") -> str:
    """A resident with three good years of records and no consent yet; returns a session token
    (the browser signs in on its own, through the demo login)."""
    _source, key = new_source(app)
    push(client, key, good_history(n))
    return login(client, idp, n, name)


def hospital(app: Any) -> tuple[Any, str]:
    """A hospital serving 先诊后付, and its API key."""
    return new_partner(app, "hospital", ["medical_credit"])
