"""The resident's notifications: listing, the unread count, marking read."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.runtime import runtime
from core.notifications import notify
from tests.support.factories import T0, bearer, login


def _me(client: Any, token: str) -> uuid.UUID:
    return uuid.UUID(client.get("/api/v1/me", headers=bearer(token)).get_json()["id"])


def _notify(app: Any, resident_id: uuid.UUID, n: int) -> None:
    with app.app_context(), runtime().uow() as uow:
        notify(uow.session, resident_id=resident_id, kind="bill_reminder",
               dedupe_key=f"test:{resident_id}:{n}", title=(f"提醒{n}", f"Reminder {n}"),
               body=("请缴费", "Please pay"), now=T0 + timedelta(minutes=n), data={"n": n})
        uow.commit()


def test_notifications_are_listed_newest_first_in_both_languages(app, client, idp):
    token = login(client, idp, 1)
    me = _me(client, token)
    for n in (1, 2):
        _notify(app, me, n)
    response = client.get("/api/v1/me/notifications", headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["unread"] == 2
    assert [item["data"] for item in body["items"]] == [{"n": 2}, {"n": 1}]
    first = body["items"][0]
    assert first["title"] == {"zh": "提醒2", "en": "Reminder 2"}
    assert first["body"] == {"zh": "请缴费", "en": "Please pay"}
    assert first["kind"] == "bill_reminder" and first["read_at"] is None
    assert set(first) == {"id", "kind", "title", "body", "data", "created_at", "read_at"}
    assert first["created_at"] == "2026-11-01T08:02:00+00:00"


def test_marking_read_counts_only_the_residents_own_unread_notifications(app, client, idp):
    token, other = login(client, idp, 1), login(client, idp, 2)
    me, them = _me(client, token), _me(client, other)
    _notify(app, me, 1)
    _notify(app, them, 2)
    mine = client.get("/api/v1/me/notifications", headers=bearer(token)).get_json()["items"]
    theirs = client.get("/api/v1/me/notifications", headers=bearer(other)).get_json()["items"]
    ids = [mine[0]["id"], theirs[0]["id"]]
    marked = client.post("/api/v1/me/notifications/read", headers=bearer(token),
                         json={"ids": ids})
    assert marked.status_code == 200 and marked.get_json() == {"marked": 1}
    again = client.post("/api/v1/me/notifications/read", headers=bearer(token), json={"ids": ids})
    assert again.get_json() == {"marked": 0}
    after = client.get("/api/v1/me/notifications", headers=bearer(token)).get_json()
    assert after["unread"] == 0 and after["items"][0]["read_at"] is not None
    assert client.get("/api/v1/me/notifications?unread=true",
                      headers=bearer(token)).get_json()["items"] == []
    assert client.get("/api/v1/me/notifications", headers=bearer(other)).get_json()["unread"] == 1
