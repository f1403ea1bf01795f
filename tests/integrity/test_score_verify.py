"""Issue 19, item 4: verify catches an edited score; eligibility trusts no unverified tier.

The attack: with write access to the database, `UPDATE scores SET score=999, tier='excellent'`.
Before this change `pengcheng score --verify` passed (it compared the stored explanation with its
inputs, never the `score` and `tier` columns), the resident's page and history showed 999, and
entitlements and tokens followed the stored tier. Now verify recomputes score, tier, points and
explanation from the stored inputs and model and names every stored column that differs; the
read path derives the score and tier from the stored inputs and treats a row that disagrees as
no valid score (recomputed from the records, the event audited as `score.tampered`); the
history leaves such a row out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.cli import ScriptInfo
from sqlalchemy import select, text

from app.cli import main
from app.runtime import runtime
from core import audit
from core.identity import find_resident
from scoring.store import Score
from tests.support.factories import bearer, id_number, login, new_partner, new_source
from tests.support.tokens import ask_token, good_history, grant, push, rec

N = 31  # the resident's test identity number


def cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def verified(app: Any) -> tuple[int, dict[str, Any]]:
    result = cli(app, "score", "--verify")
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


class Resident:
    """A resident with a thin file (a modest score) and the consents to ask for a benefit."""

    def __init__(self, app: Any, client: Any, idp: Any) -> None:
        self.app, self.client = app, client
        _src, key = new_source(app)
        push(client, key, [rec(N, "u1", "utilities", "payment_on_time", amount_fen=9000),
                           rec(N, "t1", "traffic", "violation", "2026-10-01T00:00:00Z")])
        self.token = login(client, idp, N, "孙八")
        grant(client, self.token, "scoring")
        grant(client, self.token, "scenario:rental_deposit_waiver")
        self.partner, _ = new_partner(app, "deposit_partner", ["rental_deposit_waiver"])

    def page(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/me/score", headers=bearer(self.token))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def history(self) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/me/score/history", headers=bearer(self.token))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def rental_waiver(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/me/entitlements", headers=bearer(self.token))
        assert response.status_code == 200, response.get_json()
        return next(i for i in response.get_json()["items"]
                    if i["scenario"] == "rental_deposit_waiver")


@pytest.fixture
def resident(app, client, idp) -> Resident:
    return Resident(app, client, idp)


def tamper(app: Any, statement: str) -> None:
    """Write to the database behind the service's back, as an intruder or a careless DBA."""
    with app.app_context(), runtime().uow() as uow:
        uow.session.execute(text(statement))
        uow.commit()


def test_an_edited_score_fails_verify_is_not_read_and_grants_nothing(app, client, resident):
    honest = resident.page()
    assert honest["tier"] not in ("very_good", "excellent")
    assert not resident.rental_waiver()["eligible"]
    assert verified(app) == (0, {"checked": 1, "mismatches": []})

    tamper(app, "UPDATE scores SET score=999, tier='excellent'")  # the attack

    code, report = verified(app)
    assert code == 1
    [found] = report["mismatches"]
    assert set(found["differs"]) == {"score", "tier"}
    assert found["stored"] == {"score": 999, "tier": "excellent"}
    assert found["recomputed"] == {"score": honest["score"], "tier": honest["tier"]}

    page = resident.page()
    assert (page["score"], page["tier"]) == (honest["score"], honest["tier"])
    assert all(item["score"] != 999 for item in resident.history())
    assert not resident.rental_waiver()["eligible"]
    response = ask_token(client, resident.token, "rental_deposit_waiver",
                         resident.partner.client_id)
    assert response.status_code != 201, response.get_json()

    with app.app_context(), runtime().uow() as uow:
        logged = audit.entries(uow.session, action="score.tampered").items
    assert logged and set(logged[0].data["differs"]) == {"score", "tier"}


def test_a_tampered_row_is_never_the_tier_an_entitlement_reads(app, client, resident):
    """Entitlements first, without the score page: the read behind them derives the tier."""
    resident.page()
    tamper(app, "UPDATE scores SET score=999, tier='excellent'")
    assert not resident.rental_waiver()["eligible"]
    response = ask_token(client, resident.token, "rental_deposit_waiver",
                         resident.partner.client_id)
    assert response.status_code != 201, response.get_json()


def test_verify_names_every_column_that_differs(app, resident):
    resident.page()
    tamper(app, """UPDATE scores SET score = score + 40, tier = 'good',
                   inputs_hash = repeat('0', 64), computed_at = computed_at - interval '1 day',
                   explanation = jsonb_set(explanation::jsonb, '{features,0,points}',
                                           '99')::json""")
    code, report = verified(app)
    assert code == 1
    [found] = report["mismatches"]
    assert set(found["differs"]) == {"score", "tier", "inputs_hash", "computed_at",
                                     "explanation.features"}


def test_an_edited_explanation_is_not_shown(app, resident):
    honest = resident.page()
    tamper(app, "UPDATE scores SET explanation = "
                "jsonb_set(explanation::jsonb, '{score}', '999')::json")
    assert resident.page()["score"] == honest["score"]
    code, report = verified(app)
    assert code == 1
    assert "explanation.score" in report["mismatches"][0]["differs"]


def test_verify_passes_on_the_rows_the_service_wrote(app, resident):
    resident.page()
    cli(app, "score")
    with app.app_context(), runtime().uow() as uow:
        count = len(uow.session.scalars(select(Score)).all())
    assert verified(app) == (0, {"checked": count, "mismatches": []})


def test_verify_finds_a_current_score_copied_from_a_richer_resident(app, client, idp, resident):
    """A consistent forgery (inputs, explanation, score and tier of someone else's row) is what
    its inputs compute to; verify finds it by recomputing the current row from the records."""
    _src, key = new_source(app)
    push(client, key, good_history(32))
    rich = login(client, idp, 32, "周九")
    grant(client, rich, "scoring")
    assert client.get("/api/v1/me/score", headers=bearer(rich)).status_code == 200
    resident.page()
    assert verified(app)[0] == 0
    with app.app_context(), runtime().uow() as uow:
        thin = find_resident(uow.session, runtime().keyring, id_number(N))
        assert thin is not None
        thin_id = thin.id
    tamper(app, f"""UPDATE scores AS s SET inputs = o.inputs, explanation = o.explanation,
                    score = o.score, tier = o.tier, inputs_hash = o.inputs_hash,
                    computed_at = o.computed_at
                    FROM scores AS o
                    WHERE s.resident_id = '{thin_id}' AND o.resident_id <> '{thin_id}'""")
    code, report = verified(app)
    assert code == 1
    [found] = report["mismatches"]
    assert found["resident_id"] == str(thin_id) and "inputs" in found["differs"]
    assert found["recomputed"]["score"] < found["stored"]["score"]


def test_verify_finds_a_moved_valid_until(app, resident):
    resident.page()
    tamper(app, "UPDATE scores SET valid_until = NULL")
    code, report = verified(app)
    assert code == 1
    assert report["mismatches"][0]["differs"] == ["valid_until"]


def test_a_batch_row_stores_no_explanation_and_its_edits_are_caught_the_same(app, resident):
    """The batch stores the inputs only (the explanation is rendered on read; issue 26): an
    edited score, tier or inputs hash of such a row fails verify and is not what is read."""
    scored = cli(app, "score")
    assert json.loads(scored.output.strip().splitlines()[-1])["scored"] == 1
    with app.app_context(), runtime().uow() as uow:
        assert uow.session.scalars(select(Score.explanation)).one() is None
    honest = resident.page()
    assert verified(app) == (0, {"checked": 1, "mismatches": []})

    tamper(app, "UPDATE scores SET score=999, tier='excellent', inputs_hash=repeat('0', 64)")

    code, report = verified(app)
    assert code == 1
    [found] = report["mismatches"]
    assert set(found["differs"]) == {"score", "tier", "inputs_hash"}
    page = resident.page()
    assert (page["score"], page["tier"], page["reasons"]) == (
        honest["score"], honest["tier"], honest["reasons"])
    with app.app_context(), runtime().uow() as uow:
        logged = audit.entries(uow.session, action="score.tampered").items
    assert logged and set(logged[0].data["differs"]) == {"score", "tier", "inputs_hash"}
