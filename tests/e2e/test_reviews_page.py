"""The reviews page (人工复核): a resident sees what a human review decided and what it did.

Issue 19 item 3: "The resident's page shows the outcome and the effect." A resident whose two
reviews were decided "changed" — one granting an eligibility override for 先诊后付 until a date,
one correcting a record — and who has an open and a decided dispute, reads both effects in
words on the page, in Chinese (no codes, no ISO times: not one Latin letter) and in English;
the disputes are read on their own page (我的异议).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.support.disputes import Residents
from tests.support.factories import bearer

pytestmark = pytest.mark.e2e

SCENARIO = "medical_credit"


def _ask(people: Residents, **body: Any) -> str:
    response = people.client.post("/api/v1/me/review-requests", headers=bearer(people.a),
                                  json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _decide(people: Residents, review_id: str, note: str, effect: dict[str, Any]) -> None:
    response = people.client.post(f"/admin/v1/reviews/{review_id}/decide",
                                  headers=bearer(people.reviewer_key),
                                  json={"outcome": "changed", "note": note, "effect": effect})
    assert response.status_code == 200, response.get_json()


def _day(page: Any, moment: datetime) -> str:
    """`moment` as the pages write a date (core.js `when`, the one date format)."""
    return page.evaluate("async (iso) => (await import('/static/h5/js/core.js')).when(iso, false)",
                         moment.isoformat())


def test_a_resident_reads_a_reviews_override_and_correction_and_their_disputes(
        app, client, idp, clock, tabs):
    people = Residents(app, client, idp, clock)
    names = {s["code"]: s["name"] for s in client.get("/api/v1/scenarios").get_json()["items"]}
    late = people.record("payment_overdue")
    old_penalty = people.record("admin_penalty", "2026-03-01")
    new_penalty = people.record("admin_penalty", "2026-10-01")

    # a decided dispute (the record stands), then the reviews, then an open dispute
    disputed = people.dispute(old_penalty["id"]).get_json()
    assert people.resolve(disputed["id"], "upheld", note="处罚决定书有效").status_code == 200
    clock.advance(minutes=1)
    ends = clock.now() + timedelta(days=30)
    override = _ask(people, subject="eligibility", scenario=SCENARIO, reason="我有稳定收入")
    _decide(people, override, "核实后准予先诊后付", {
        "kind": "eligibility_override", "scenario": SCENARIO,
        "ends_at": ends.isoformat().replace("+00:00", "Z")})
    clock.advance(minutes=1)
    corrected = _ask(people, subject="score", reason="我是按时缴费的")
    _decide(people, corrected, "供水公司确认按时缴费", {
        "kind": "record_corrected", "record_id": late["id"],
        "correction": {"type": "payment_on_time", "amount_fen": 9000}})
    clock.advance(minutes=1)
    assert people.dispute(new_penalty["id"], reason="罚款已缴清").status_code == 201

    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/reviews#token={people.a}")
    expect(page.get_by_role("heading", level=1)).to_have_text("人工复核")
    expect(page.locator("#content")).to_have_attribute("data-ready", "true")
    reviews = page.locator("#reviews > li")
    expect(reviews).to_have_count(2)
    # newest first: the correction, then the override
    expect(reviews.nth(0)).to_have_attribute("data-review", corrected)
    expect(reviews.nth(1)).to_have_attribute("data-review", override)
    fixed = reviews.nth(0)
    expect(fixed).to_contain_text("已调整")
    expect(fixed).to_contain_text(
        "结果：测试数据源报送的“水电气 · 逾期缴费”记录已更正，按更正后的内容计入信用分。")
    expect(fixed).to_contain_text("记录类型：逾期缴费 → 按时缴费")
    expect(fixed).to_contain_text("金额：¥120.00 → ¥90.00")
    expect(fixed).to_contain_text("复核人员说明：供水公司确认按时缴费")
    allowed = reviews.nth(1)
    until = _day(page, ends)
    expect(allowed).to_contain_text(f"场景资格 · {names[SCENARIO]['zh']}")
    expect(allowed).to_contain_text(
        f"结果：您在“{names[SCENARIO]['zh']}”场景视为符合条件，至 {until}")
    expect(allowed).to_contain_text("复核人员说明：核实后准予先诊后付")

    shown = page.locator("#content").inner_text()
    assert not re.search(r"[A-Za-z]", shown), shown  # no codes, no ISO times or durations
    tab.shot("zh", full_page=False)

    # the disputes have their own page
    page.locator("#menu").get_by_role("link", name="我的异议").click()
    disputes = page.locator("#disputes > li")
    expect(disputes).to_have_count(2)
    expect(disputes.nth(0)).to_contain_text("公共信用 · 行政处罚")
    expect(disputes.nth(0)).to_contain_text("处理中")
    expect(disputes.nth(0)).to_contain_text("处理期限")
    expect(disputes.nth(0)).to_contain_text("处理完成前照常计入分数")
    expect(disputes.nth(1)).to_have_attribute("data-dispute", disputed["id"])
    expect(disputes.nth(1)).to_contain_text("处理结果：维持原记录")
    expect(disputes.nth(1)).to_contain_text("处罚决定书有效")
    shown = page.locator("#content").inner_text()
    assert not re.search(r"[A-Za-z]", shown), shown
    page.locator("#menu").get_by_role("link", name="人工复核").click()
    # the reviews page is there before its language is switched (not the disputes page still)
    expect(page.get_by_role("heading", level=1)).to_have_text("人工复核")
    expect(page.locator("#reviews > li")).to_have_count(2)

    page.get_by_role("button", name=re.compile("切换到英文")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Human review")
    expect(reviews.nth(0)).to_contain_text(
        "Effect: the Utilities · Paid late record from 测试数据源 was corrected and counts as "
        "corrected.")
    expect(reviews.nth(0)).to_contain_text("Amount: ¥120.00 → ¥90.00")
    expect(reviews.nth(1)).to_contain_text(
        f"Effect: you count as eligible for {names[SCENARIO]['en']} until")
    shown = page.locator("#content").inner_text()
    assert "eligibility_override" not in shown and "record_corrected" not in shown
    assert not re.search(r"\d{4}-\d\d-\d\dT", shown), shown
    tab.shot("en")
    page.locator("#menu").get_by_role("link", name="My disputes").click()
    expect(disputes.nth(1)).to_contain_text("Outcome: the record stands")
    shown = page.locator("#content").inner_text()
    assert "upheld" not in shown and not re.search(r"\d{4}-\d\d-\d\dT", shown), shown
