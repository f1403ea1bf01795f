"""What a user notices beyond the happy path: English, plain-language errors, nothing personal
kept by the browser, and a counter whose retries can never hold twice."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.support import hospital, resident_without_consent
from tests.support.factories import bearer
from tests.support.tokens import ask_token, grant

pytestmark = pytest.mark.e2e


def test_the_pages_switch_to_english_and_remember_it_without_keeping_personal_data(
        app, client, idp, tabs):
    session = resident_without_consent(app, client, idp)
    grant(client, session, "scoring")
    tab = tabs(DESKTOP, "desktop")
    page = tab.page
    tab.go(f"/h5/score#token={session}")  # how the mini-program hands over its session
    expect(page.get_by_role("heading", level=1)).to_have_text("我的鹏城分")
    expect(page.locator("#reasons")).to_contain_text("改善建议")
    assert "token" not in page.url

    page.get_by_role("button", name=re.compile("切换到英文")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My Pengcheng Score")
    expect(page.locator("#reasons")).to_contain_text("How to improve")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("navigation")).to_contain_text("Consent")
    tab.shot("english")

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("My Pengcheng Score")
    expect(page.locator("#reasons")).to_contain_text("How to improve")
    stored = page.evaluate("""() => ({
        local: Object.fromEntries(Object.entries(localStorage)),
        session: Object.keys(sessionStorage)})""")
    assert stored == {"local": {"pc.lang": "en"}, "session": ["pc.session"]}

    page.get_by_role("navigation").get_by_role("link", name="Consent").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent centre")
    expect(page.locator("#notice-scoring h2")).to_contain_text("Credit scoring")
    expect(page.locator("#notice-scoring")).to_contain_text("Update consent")

    page.get_by_role("button", name=re.compile("switch to Chinese")).click()
    expect(page.locator("#notice-scoring h2")).to_contain_text("信用评分授权")
    expect(page.get_by_role("heading", level=1)).to_have_text("授权中心")


def test_a_lost_connection_and_an_ended_session_are_explained_in_plain_words(
        app, client, idp, clock, tabs):
    session = resident_without_consent(app, client, idp)
    grant(client, session, "scoring")
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/entitlements#token={session}")
    expect(page.locator("#ent-medical_credit")).to_be_visible()

    tab.expect_console("net::ERR_FAILED")
    page.route("**/api/v1/me/entitlements", lambda route: route.abort())
    page.reload()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("网络连接失败，请检查网络后重试。")
    tab.shot("offline")
    page.unroute("**/api/v1/me/entitlements")
    alert.get_by_role("button", name="重试").click()
    expect(page.locator("#ent-medical_credit")).to_be_visible()

    clock.advance(hours=2)  # past the session's lifetime on the server's clock
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("登录已失效，请重新登录。")
    expect(page.get_by_role("link", name="去登录")).to_have_attribute(
        "href", "/h5/login?next=%2Fh5%2Fentitlements")
    assert page.evaluate("sessionStorage.length") == 0
    tab.shot("session-ended")

    fresh = tabs(PHONE, "no-session")
    fresh.go("/h5/records")
    expect(fresh.page.get_by_role("alert")).to_contain_text("请先登录后查看。")


def test_the_counter_refuses_a_wrong_password_and_a_retried_hold_is_made_once(
        app, client, idp, tabs):
    session = resident_without_consent(app, client, idp)
    grant(client, session, "scoring")
    grant(client, session, "scenario:medical_credit")
    clinic, clinic_key = hospital(app)
    assert client.post("/partner/v1/staff", headers=bearer(clinic_key), json={
        "username": "wang.fang", "name": "王芳", "password": "counter-pass-2026"}
        ).status_code == 201
    code = ask_token(client, session, "medical_credit", clinic.client_id).get_json()["code"]

    tab = tabs(PHONE, "counter")
    page = tab.page
    tab.go("/counter/")
    page.get_by_label("医院编号").fill(clinic.client_id)
    page.get_by_label("用户名").fill("wang.fang")
    page.get_by_label("密码", exact=True).fill("not-her-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("医院编号、用户名或密码不正确。")
    page.get_by_label("密码", exact=True).fill("counter-pass-2026")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("此浏览器不支持摄像头扫码").or_(
        page.get_by_role("button", name="用摄像头扫码"))).to_be_visible()

    page.get_by_label("患者信用码").fill(code)
    page.keyboard.press("Enter")  # a handheld scanner types the code and presses Enter
    expect(page.get_by_label("就诊号")).to_be_focused()
    page.get_by_label("就诊号").fill("MZ-RETRY-1")

    # The first hold reaches the server but its answer is lost on the way back.
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data))
            if r.url.endswith("/medical-credit/authorizations") else None)
    state = {"dropped": False}

    def drop_first_answer(route):
        if state["dropped"]:
            route.continue_()
            return
        state["dropped"] = True
        route.fetch()
        route.abort()

    tab.expect_console("net::ERR_FAILED")
    page.route("**/partner/v1/medical-credit/authorizations", drop_first_answer)
    page.get_by_label("冻结金额（元）").fill("120.5")
    page.get_by_role("button", name="冻结", exact=True).click()
    expect(page.locator("#hold").get_by_role("alert")).to_contain_text("不会重复冻结")
    page.get_by_role("button", name="冻结", exact=True).click()
    expect(page.locator("#holds li[data-status='held']")).to_contain_text("¥120.50")
    tab.shot("held-after-retry")

    assert len(sent) == 2 and sent[0] == sent[1]
    assert sent[0]["out_request_no"] == "MZ-RETRY-1"
    mine = client.get("/api/v1/me/medical-credit", headers=bearer(session)).get_json()
    assert [h["amount_fen"] for h in mine["holds"]] == [12050]
    assert mine["held_fen"] == 12050
