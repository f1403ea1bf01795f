"""The resident's other pages on a desktop browser, against the real APIs: points, deposit
waivers, a dispute raised on a record, notifications, and the export of everything held."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP
from tests.e2e.support import resident_without_consent
from tests.support.factories import T0, bearer, cli, new_operator, new_partner
from tests.support.tokens import ask_token, grant

pytestmark = pytest.mark.e2e


def test_points_waivers_records_disputes_and_the_export_are_shown_and_usable(
        app, client, idp, tabs, tmp_path):
    session = resident_without_consent(app, client, idp, 12, "赵六")
    grant(client, session, "scoring")
    grant(client, session, "scenario:deposit_waiver_bike")
    bikes, bikes_key = new_partner(app, "deposit_partner", ["deposit_waiver_bike"])
    token = ask_token(client, session, "deposit_waiver_bike", bikes.client_id).get_json()["token"]
    waiver = client.post("/partner/v1/deposit-waivers", headers=bearer(bikes_key), json={
        "token": token, "out_order_no": "BIKE-1", "deposit_fen": 29900,
        "due_at": (T0 + timedelta(days=1)).isoformat(), "item": "单车 SZ-0001"})
    assert waiver.status_code == 201, waiver.get_json()
    assert cli(app, "jobs", "run", "--only", "points.earn").exit_code == 0
    balance = client.get("/api/v1/me/points", headers=bearer(session)).get_json()["balance"]
    assert balance > 0

    tab = tabs(DESKTOP, "desktop")
    page = tab.page
    tab.go(f"/h5/points#token={session}")
    expect(page.locator("#balance")).to_have_text(str(balance))
    expect(page.locator("#history")).to_contain_text("获得")
    tab.shot("points")

    page.get_by_role("navigation").get_by_role("link", name="免押记录").click()
    item = page.locator("#waivers li").first
    expect(item).to_contain_text("单车 SZ-0001")
    expect(item).to_contain_text("¥299.00")
    tab.shot("waivers")

    # a dispute raised on the disputes page, opened for one record (as the records page links)
    records = client.get("/api/v1/me/records", headers=bearer(session)).get_json()["items"]
    record_id = next(r["id"] for r in records if r["status"] == "active")
    tab.go(f"/h5/disputes?record={record_id}")
    form = page.locator("#raise")
    form.get_by_role("button", name="提交异议").click()
    expect(form.get_by_role("alert")).to_contain_text("请填写异议理由。")
    form.get_by_label("异议理由").fill("这笔缴费是按时的，记录日期有误")
    form.get_by_label("补充说明或证据（可选）").fill("银行回单号 20260905-001")
    form.get_by_role("button", name="提交异议").click()
    expect(page.locator("#flash")).to_contain_text("异议已提交")
    disputed = page.locator("#disputes > li").first
    expect(disputed).to_have_attribute("data-status", "open")
    expect(disputed).to_contain_text("处理完成前照常计入分数")  # marked under dispute, it counts
    assert next(r for r in client.get("/api/v1/me/records", headers=bearer(session))
                .get_json()["items"] if r["id"] == record_id)["status"] == "disputed"
    tab.shot("disputes", full_page=False)

    # a reviewer opens the dispute: the resident sees who, and what they saw, in Chinese
    _op, reviewer_key = new_operator(app, "reviewer")
    dispute_id = client.get("/api/v1/me/disputes",
                            headers=bearer(session)).get_json()["items"][0]["id"]
    assert client.get(f"/admin/v1/disputes/{dispute_id}",
                      headers=bearer(reviewer_key)).status_code == 200
    page.get_by_role("navigation").get_by_role("link", name="查询记录").click()
    read = page.locator("#access-log li[data-action='dispute_read']")
    expect(read).to_contain_text("查阅您的异议")
    expect(read).to_contain_text("异议理由和证据、被异议的记录")

    page.get_by_role("navigation").get_by_role("link", name="消息").click()
    expect(page.locator("#content")).to_have_attribute("data-ready", "true")
    tab.shot("notifications")

    tab.go("/h5/export")
    expect(page.locator("#summary dd[data-section='disputes']")).to_contain_text("1 件")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("下载数据文件")).click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert any(r["id"] == record_id and r["status"] == "disputed" for r in exported["records"])
    assert exported["disputes"][0]["record_id"] == record_id
    tab.shot("export")
