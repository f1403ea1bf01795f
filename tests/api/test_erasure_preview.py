"""GET /api/v1/me/erasure: before confirming, the resident reads exactly what erasing would
delete and keep — the same counts and retained items the erasure then states — and reading it
changes nothing."""

from __future__ import annotations

from tests.support.disputes import Residents
from tests.support.factories import bearer


def test_the_preview_states_what_the_erasure_then_does_and_changes_nothing(
        app, client, idp, clock):
    people = Residents(app, client, idp, clock)
    people.score()
    people.dispute(people.record("payment_overdue")["id"])
    records = len(people.records(people.a))

    first = client.get("/api/v1/me/erasure", headers=bearer(people.a))
    assert first.status_code == 200, first.get_json()
    preview = first.get_json()
    again = client.get("/api/v1/me/erasure", headers=bearer(people.a)).get_json()
    assert again == preview and len(people.records(people.a)) == records  # nothing changed
    assert preview["consents_in_force"] == 1
    # every retained item says why in both languages, for the Chinese page too
    assert all(item.get("why_zh") and (item.get("why") or item.get("why_en"))
               for item in preview["retained"])

    done = client.delete("/api/v1/me", headers=bearer(people.a)).get_json()
    assert preview["deleted"] == done["deleted"]
    assert preview["records_kept"] == done["records_kept"] == 3
    assert preview["retained"] == done["retained"]
    assert preview["reattached_on_login"] is done["reattached_on_login"] is True
    assert preview["login_again"] == done["login_again"]
    assert preview["consents_in_force"] == len(done["consents_withdrawn"])


def test_the_preview_is_only_for_the_signed_in_resident(client):
    answer = client.get("/api/v1/me/erasure")
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
