"""The resident's home, score and records pages as a resident on a phone sees them: the home
that says where to start, the score whose parts add up, records grouped with the negatives first,
and the same pages in elder mode; each checked by axe-core and photographed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.registry import CORE
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.support import axe_check, resident_without_consent, shot
from tests.support.factories import bearer, new_source
from tests.support.tokens import grant, notice_id, push, rec

pytestmark = pytest.mark.e2e


def resident_with_a_violation(app, client, idp, n=21, name="王五"):
    """Three good years, one traffic violation last month, scoring consent given."""
    session = resident_without_consent(app, client, idp, n, name)
    _source, key = new_source(app)
    push(client, key, [rec(n, "tv1", "traffic", "violation", "2026-10-10T00:00:00Z")])
    grant(client, session, "scoring")
    return session


def test_home_shows_score_trend_next_tier_and_every_section(app, client, idp, tabs):
    session = resident_with_a_violation(app, client, idp)
    score = client.get("/api/v1/me/score", headers=bearer(session)).get_json()
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/#token={session}")
    expect(page.locator("#home-number")).to_have_text(str(score["score"]))
    expect(page.locator("#home-tier")).to_have_text(score["tier_name"])
    above = [t for t in score["scale"]["tiers"] if t["min"] > score["score"]]
    if above:
        short = above[0]["min"] - score["score"]
        expect(page.locator("#home-next")).to_contain_text(f"再提高 {short} 分")
    menu = page.get_by_role("navigation", name="全部服务")
    for name in ("我的分数", "信用权益", "授权中心", "信用记录", "查询记录", "消息"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    axe_check(page, "home")
    shot(page, "home-zh")


def test_signed_out_the_root_is_the_sign_in_page(tabs):
    tab = tabs(PHONE, "phone")
    tab.go("/")
    tab.page.wait_for_url(re.compile(r"/h5/login"))
    expect(tab.page.get_by_role("heading", level=1)).to_be_visible()


def test_score_parts_add_up_and_records_put_negatives_first(app, client, idp, tabs):
    session = resident_with_a_violation(app, client, idp)
    score = client.get("/api/v1/me/score", headers=bearer(session)).get_json()
    parts = sum(d["points"] for d in score["dimensions"])
    assert score["scale"]["base_points"] + parts == score["score"]

    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/score#token={session}")
    expect(page.locator("#sum")).to_have_text(
        f"基础分 {score['scale']['base_points']} + 各维度得分 {parts} = {score['score']} 分")
    expect(page.get_by_role("img", name=re.compile(
        f"分数范围 {score['scale']['min']}–{score['scale']['max']}"))).to_be_visible()
    expect(page.locator("#ladder li[aria-current='step']")).to_contain_text("您在这里")
    axe_check(page, "score")
    shot(page, "score-zh")

    tab.go("/h5/records")
    first = page.locator("#records details").first
    expect(first).to_have_attribute("data-category", "traffic")
    expect(first.locator("li").first).to_contain_text("负面")
    expect(first.get_by_role("link", name="提出异议")).to_have_attribute(
        "href", re.compile(r"^/h5/disputes\?record="))
    utilities = page.locator("#records details[data-category='utilities']")
    utilities.locator("summary").click()
    expect(utilities.get_by_role("link", name="提出异议")).to_have_count(0)
    page.get_by_label("状态").select_option("negative")
    expect(page.locator("#records li")).to_have_count(1)
    axe_check(page, "records")
    shot(page, "records-zh")


def test_desktop_home_and_score(app, client, idp, tabs):
    session = resident_with_a_violation(app, client, idp)
    tab = tabs(DESKTOP, "desktop")
    page = tab.page
    tab.go(f"/#token={session}")
    expect(page.locator("#home-number")).to_be_visible()
    axe_check(page, "home desktop")
    shot(page, "home-desktop")
    tab.go("/h5/score")
    expect(page.locator("#sum")).to_be_visible()
    shot(page, "score-desktop")


def test_docs_work_offline_from_bundled_assets(tabs, client):
    """/docs is Swagger UI served from the swagger-ui-bundle package: the tab fails on any
    request to another host, and the operations render."""
    with client.get("/docs/assets/swagger-ui-bundle.js") as bundle:
        assert bundle.status_code == 200 and len(bundle.data) > 100_000
    tab = tabs(DESKTOP, "docs")
    tab.go("/docs")
    expect(tab.page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=20_000)
    assert all(url.startswith(tab.base) for url in tab.requests if url.startswith("http"))
    shot(tab.page, "docs", full_page=False)


def test_sign_in_page_passes_axe_in_both_modes(tabs):
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go("/h5/login")
    expect(page.locator("#content[data-ready='true']")).to_be_attached()
    axe_check(page, "login")
    page.get_by_role("button", name="长辈模式").click()
    axe_check(page, "login, elder")
    shot(page, "login-elder")


def test_how_to_improve_projects_a_score_without_storing_it(app, client, idp, tabs):
    session = resident_with_a_violation(app, client, idp)
    assert client.get("/api/v1/me/score", headers=bearer(session)).status_code == 200
    before = client.get("/api/v1/me/score/history", headers=bearer(session)).get_json()["items"]
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/score#token={session}")
    panel = page.locator("#improve")
    panel.get_by_label(re.compile("修复「交通违法」记录")).check()
    panel.get_by_label("再参加 20 小时志愿服务").check()
    with page.expect_response(re.compile(r"/api/v1/me/score/simulate")) as answered:
        panel.get_by_role("button", name="估算分数").click()
    projected = answered.value.json()
    result = page.locator("#sim-result")
    expect(result).to_contain_text(f"估算分数 {projected['score']}（+{projected['delta']}）")
    expect(result).to_contain_text("不保存")
    assert projected["delta"] > 0
    after = client.get("/api/v1/me/score/history", headers=bearer(session)).get_json()["items"]
    assert after == before
    axe_check(page, "score with a projection")
    shot(page, "improve", full_page=False)


def test_each_benefit_not_reached_says_what_is_missing(app, client, idp, tabs):
    """A resident listed as a dishonest judgment debtor: the score page names, per benefit,
    the tier and points short and the exclusion, as the entitlements API decides them."""
    session = resident_without_consent(app, client, idp, 31, "孙八")
    _source, key = new_source(app)
    push(client, key, [rec(31, "dd1", "judicial", "dishonest_debtor", "2026-09-01T00:00:00Z")])
    grant(client, session, "scoring")
    score = client.get("/api/v1/me/score", headers=bearer(session)).get_json()
    entitlements = client.get("/api/v1/me/entitlements", headers=bearer(session)).get_json()
    blocked = [e for e in entitlements["items"] if not e["eligible"]]
    assert blocked
    tiers = {t["code"]: t for t in score["scale"]["tiers"]}

    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/score#token={session}")
    for e in blocked:
        item = page.locator(f"#missing li[data-scenarios~='{e['scenario']}']")
        expect(item).to_contain_text(e["name"]["zh"])
        for reason in e["reasons"]:
            expect(item).to_contain_text(reason["zh"] if isinstance(reason, dict) else reason)
        short = tiers[e["min_tier"]]["min"] - score["score"]
        if short > 0:
            expect(item).to_contain_text(
                f"需要「{tiers[e['min_tier']]['name']}」及以上，还差 {short} 分")
    axe_check(page, "score of a listed resident")
    shot(page, "missing")


def test_data_not_added_offers_the_most_it_could_bring(app, client, idp, tabs):
    """Scoring with the core only: each supplement left out is offered with the most points
    the model says it could add, linking to the scoring consent."""
    session = resident_without_consent(app, client, idp, 41, "吴九")
    notice = notice_id(client, "scoring")
    granted = client.post("/api/v1/me/consents", headers=bearer(session), json={
        "notice_id": notice, "separate_consent": True, "categories": sorted(CORE)})
    assert granted.status_code in (200, 201), granted.get_json()
    unused = client.get("/api/v1/me/score", headers=bearer(session)).get_json()[
        "unused_categories"]
    assert unused
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/score#token={session}")
    for item in unused:
        row = page.locator(f"#unused li[data-category='{item['category']}']")
        expect(row).to_contain_text(item["name"]["zh"])
        add = row.get_by_role("link", name=f"添加此数据（最多 +{item['max_points']} 分）")
        expect(add).to_have_attribute("href", "/h5/consents?purpose=scoring")
    shot(page, "unused")
