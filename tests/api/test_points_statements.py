"""Clearing statements (partner and operator, JSON and CSV) and the reconciliation check."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.factories import bearer
from tests.support.points import PointsWorld

NOVEMBER = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}


@pytest.fixture
def points_world(app, client, idp) -> PointsWorld:
    return PointsWorld(app, client, idp)


def _activity(w, clock):
    """Two redemptions and a partial refund at the shop in November, one at another shop."""
    w.give(5000)
    first = w.redeem(300, "o-1").get_json()["redemption_id"]
    clock.advance(minutes=30)
    assert w.redeem(200, "o-2").status_code == 201
    assert w.refund(first, "r-1", 120).status_code == 201
    assert w.redeem(50, "o-3", key=w.other_shop_key,
                    token=w.points_token(w.other_shop)).status_code == 201
    return first


def test_a_partner_gets_its_clearing_statement_as_json(points_world, clock):
    w = points_world
    first = _activity(w, clock)
    response = w.client.get("/partner/v1/points/statement", headers=bearer(w.shop_key),
                            query_string=NOVEMBER)
    assert response.status_code == 200, response.get_json()
    statement = response.get_json()
    assert statement.items() >= {"opening_balance": 0, "redeemed": 500, "refunded": 120,
                                 "net": 380, "closing_balance": 380, "count": 3}.items()
    assert [(line["type"], line["points"], line["out_order_no"], line["out_refund_no"])
            for line in statement["lines"]] == [("redemption", 300, "o-1", None),
                                                ("redemption", 200, "o-2", None),
                                                ("refund", -120, "o-1", "r-1")]
    assert statement["lines"][2]["redemption_id"] == first
    assert statement["partner"]["client_id"] == w.shop.client_id


def test_the_next_period_opens_with_the_previous_closing_balance(points_world, clock):
    w = points_world
    _activity(w, clock)
    december = {"from": "2026-12-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"}
    statement = w.client.get("/partner/v1/points/statement", headers=bearer(w.shop_key),
                             query_string=december).get_json()
    assert statement["opening_balance"] == statement["closing_balance"] == 380
    assert statement["lines"] == []


def test_the_statement_as_csv_adds_up(points_world, clock):
    w = points_world
    _activity(w, clock)
    response = w.client.get("/partner/v1/points/statement", headers=bearer(w.shop_key),
                            query_string={**NOVEMBER, "format": "csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0]["type"] == "opening_balance" and rows[-1]["type"] == "closing_balance"
    body = rows[1:-1]
    assert sum(int(r["points"]) for r in body) + int(rows[0]["points"]) == \
        int(rows[-1]["points"]) == 380
    assert {r["out_order_no"] for r in body} == {"o-1", "o-2"}


def test_a_period_must_be_ordered_and_at_most_93_days(points_world):
    w = points_world
    for period in ({"from": NOVEMBER["to"], "to": NOVEMBER["from"]},
                   {"from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"}):
        response = w.client.get("/partner/v1/points/statement", headers=bearer(w.shop_key),
                                query_string=period)
        assert response.status_code == 422
        assert response.get_json()["code"] == "invalid_period"
    naive = w.client.get("/partner/v1/points/statement", headers=bearer(w.shop_key),
                         query_string={"from": "2026-11-01T00:00:00", "to": NOVEMBER["to"]})
    assert naive.status_code == 422  # a time without an offset is ambiguous


def test_an_operator_reads_any_partners_statement_and_the_read_is_audited(points_world,
                                                                           clock, uow):
    from sqlalchemy import select

    from core.audit import AuditEntry

    w = points_world
    _activity(w, clock)
    for role in ("admin", "auditor"):
        response = w.client.get(f"/admin/v1/points/statements/{w.other_shop.client_id}",
                                headers=bearer(w.operator(role)), query_string=NOVEMBER)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["closing_balance"] == 50
    actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("points.statement.read") == 2
    reviewer = w.client.get(f"/admin/v1/points/statements/{w.shop.client_id}",
                            headers=bearer(w.operator("reviewer")), query_string=NOVEMBER)
    assert reviewer.status_code == 403
    unknown = w.client.get("/admin/v1/points/statements/ptn_nobody",
                           headers=bearer(w.operator()), query_string=NOVEMBER)
    assert unknown.status_code == 404


def test_operators_check_the_ledger_reconciles(points_world, clock):
    w = points_world
    _activity(w, clock)
    response = w.client.get("/admin/v1/points/reconciliation", headers=bearer(w.operator()))
    assert response.status_code == 200
    assert response.get_json()["ok"] is True
    assert response.get_json()["legs_total"] == 0


def test_a_resident_without_points_sees_an_empty_account(points_world):
    mine = points_world.mine()
    assert mine["balance"] == 0 and mine["history"] == [] and mine["expiring"] == []
