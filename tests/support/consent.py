"""Shared arrangements for the consent API tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.runtime import runtime
from consent.models import ConsentEvent, ConsentRecord
from core.audit import AuditEntry
from tests.support.factories import bearer

NORMAL = ["blood_donation", "housing_fund", "judicial", "public_credit", "rental",
          "social_insurance", "tax", "traffic", "utilities", "volunteer"]


def notice(client: Any, purpose: str) -> dict:
    found = client.get(f"/api/v1/notices?purpose={purpose}").get_json()
    assert len(found) == 1, found
    return found[0]


def give(client: Any, token: str, purpose: str = "scoring", **body: Any):
    payload = {"notice_id": notice(client, purpose)["id"], **body}
    return client.post("/api/v1/me/consents", headers=bearer(token), json=payload)


def grant_scoring(client: Any, token: str, categories: list[str] | None = None) -> None:
    """Consent to scoring under the current notice: `categories`, or every one it names."""
    current = notice(client, "scoring")
    response = give(client, token, categories=categories or current["categories"],
                    separate_consent=True)
    assert response.status_code in (200, 201), response.get_json()


def counts(app: Any) -> tuple[int, int, int]:
    """(consent records, consent events, audit entries) in the database now."""
    with app.app_context(), runtime().uow() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))  # type: ignore
                     for m in (ConsentRecord, ConsentEvent, AuditEntry))
