"""The hospital counter as a busy cashier uses it (issue 24 item 7, issue 20 item 4), in Chromium
at 1280×800 and 375×667: their own sign-in (the hospital's API key never reaches the browser),
a code typed as its 18 digits, holds told apart by time, the patient's last 4 characters, the
amount and the visit number, a settlement, a release that asks first naming the amount, and a
message of its own for each refusal. axe-core on every state; screenshots in
artifacts/test_counter/<test>/."""

from __future__ import annotations

import re

import jwt
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.support import axe_check, shot
from tests.support.factories import bearer, new_partner
from tests.support.tokens import World, ask_token, signed, withdraw

pytestmark = pytest.mark.e2e

PASSWORD = "counter-pass-2026"


class Desk(World):
    """The token world, with a counter hospital that has a cashier of its own."""

    def __init__(self, app, client, idp) -> None:
        super().__init__(app, client, idp)
        self.clinic, self.clinic_key = new_partner(app, "hospital", ["medical_credit"])
        response = client.post("/partner/v1/staff", headers=bearer(self.clinic_key), json={
            "username": "zhang.wei", "name": "张伟", "password": PASSWORD})
        assert response.status_code == 201, response.get_json()

    def issued(self, scenario: str = "medical_credit", partner=None) -> dict:
        response = ask_token(self.client, self.resident, scenario,
                             (partner or self.clinic).client_id)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def for_another_scenario(self) -> str:
        """A genuine token for this hospital whose scenario is not 先诊后付 (no hospital serves
        another in the shipped catalogue, so the service's key signs one)."""
        claims = jwt.decode(self.issued()["token"], options={"verify_signature": False})
        return signed(self.app, {**claims, "scn": "deposit_waiver_bike"})

    def subs(self) -> set[str]:
        """The pseudonyms of this hospital's holds, as its own API key lists them."""
        answer = self.client.get("/partner/v1/medical-credit/authorizations",
                                 headers=bearer(self.clinic_key)).get_json()
        return {item["sub"] for item in answer["items"]}


@pytest.fixture
def desk(app, client, idp) -> Desk:
    return Desk(app, client, idp)


def sign_in(page, desk: Desk, password: str = PASSWORD) -> None:
    page.get_by_label("医院编号").fill(desk.clinic.client_id)
    page.get_by_label("用户名").fill("zhang.wei")
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def hold(page, code: str, visit: str, amount: str) -> None:
    page.get_by_label("患者信用码").fill(code)
    page.get_by_label("就诊号").fill(visit)
    page.get_by_label("冻结金额（元）").fill(amount)
    page.get_by_role("button", name="冻结", exact=True).click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_cashier_signs_in_holds_settles_and_releases_after_confirming(
        desk, client, clock, tabs, viewport):
    tab = tabs(viewport, "counter")
    page = tab.page
    tab.go(f"/counter/?hospital={desk.clinic.client_id}")  # the counter's bookmark
    expect(page.get_by_role("heading", level=1)).to_have_text("医院收费窗口 · 先诊后付")
    expect(page.get_by_label("医院编号")).to_have_value(desk.clinic.client_id)
    axe_check(page, "sign-in")
    shot(page, "1-sign-in")

    sign_in(page, desk, "not-the-password")
    expect(page.locator("#signin-result").get_by_role("alert")).to_have_text(
        "医院编号、用户名或密码不正确。")
    sign_in(page, desk)
    expect(page.locator("#whoami")).to_contain_text("张伟")
    expect(page.locator("#whoami")).to_contain_text(desk.clinic.name)
    expect(page.locator("#holds")).to_contain_text("最近 24 小时没有冻结。")

    # The 18 digits typed as printed under the QR (with spaces); Enter goes to what is empty.
    first = desk.issued()
    code = first["code"]
    page.get_by_label("患者信用码").fill(f"{code[:6]} {code[6:12]} {code[12:]}")
    page.get_by_label("患者信用码").press("Enter")
    expect(page.get_by_label("就诊号")).to_be_focused()
    page.get_by_label("就诊号").fill("MZ20261101-0007")
    page.get_by_label("就诊号").press("Enter")
    expect(page.get_by_label("冻结金额（元）")).to_be_focused()
    page.get_by_label("冻结金额（元）").fill("300")
    page.get_by_role("button", name="冻结", exact=True).click()
    expect(page.locator("#hold-result")).to_contain_text("已冻结 ¥300.00")
    (sub,) = desk.subs()
    tail = sub[-4:]
    expect(page.locator("#hold-result")).to_contain_text(
        f"已冻结 ¥300.00（患者尾号 {tail}，就诊号 MZ20261101-0007）")
    expect(page.get_by_label("患者信用码")).to_be_focused()
    expect(page.get_by_label("患者信用码")).to_have_value("")

    clock.advance(minutes=3)  # the next patient (the same resident here: the same tail)
    second = desk.issued()
    hold(page, second["code"], "MZ20261101-0012", "120")
    held = page.locator("#holds li[data-status='held']")
    expect(held).to_have_count(2)
    newest, older = held.nth(0), held.nth(1)
    for item, amount, visit, time in ((newest, "¥120.00", "MZ20261101-0012", "16:03"),
                                      (older, "¥300.00", "MZ20261101-0007", "16:00")):
        expect(item).to_contain_text(amount)
        expect(item.locator(".hold-time")).to_have_text(f"2026年11月1日 {time}")
        expect(item).to_contain_text(visit)
        expect(item).to_contain_text(f"患者尾号 {tail}")
        expect(item).to_contain_text("经办：zhang.wei")
    axe_check(page, "two holds")
    shot(page, "2-two-holds")

    # Settle the first visit's bill.
    older.get_by_label("账单金额（元）").fill("256.80")
    older.get_by_label("院内账单号").fill("SF-7788")
    older.get_by_role("button", name="结算", exact=True).click()
    captured = page.locator("#holds li[data-status='captured']")
    expect(captured).to_contain_text("已结算 ¥256.80，账单已生成。")
    expect(captured).to_contain_text("SF-7788")

    # Release the second: asked first, naming the amount; cancelling changes nothing.
    newest = page.locator("#holds li[data-status='held']")
    newest.get_by_role("button", name="撤销冻结").click()
    question = newest.get_by_role("alertdialog")
    expect(question).to_contain_text("确认撤销就诊号 MZ20261101-0012")
    expect(question).to_contain_text("¥120.00")
    expect(question.get_by_role("button", name="取消")).to_be_focused()
    axe_check(page, "release question")
    shot(page, "3-release-question")
    question.get_by_role("button", name="取消").click()
    expect(newest.get_by_role("alertdialog")).to_have_count(0)
    expect(page.locator("#holds li[data-status='held']")).to_have_count(1)
    newest.get_by_role("button", name="撤销冻结").click()
    newest.get_by_role("button", name="确认撤销").click()
    expect(page.locator("#holds li[data-status='voided']")).to_contain_text(
        "已撤销 ¥120.00 的冻结。")
    expect(page.locator("#holds li[data-status='held']")).to_have_count(0)
    mine = client.get("/api/v1/me/medical-credit", headers=bearer(desk.resident)).get_json()
    assert mine["held_fen"] == 0 and [b["amount_fen"] for b in mine["bills"]] == [25680]
    axe_check(page, "settled and released")
    shot(page, "4-settled-and-released")

    # Nothing of the hospital's API key, and only the session of this tab, in the browser.
    stored = page.evaluate("""() => ({local: Object.keys(localStorage),
                                      session: Object.keys(sessionStorage)})""")
    assert stored["session"] == ["pc.counter.session"]
    assert not [k for k in stored["local"] if k.startswith("pc.counter")]
    assert desk.clinic_key not in page.content()
    token = page.evaluate("sessionStorage.getItem('pc.counter.session')")
    assert token.startswith("ss_")

    # English, then sign out: the session stops working on the server too.
    page.get_by_role("button", name=re.compile("切换到英文")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Hospital counter · treat first, pay later")
    expect(page.locator("#holds li[data-status='captured']")).to_contain_text("Settled")
    expect(page.locator("#holds li[data-status='voided']")).to_contain_text("Released")
    axe_check(page, "english")
    shot(page, "5-english")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Cashier sign-in")).to_be_visible()
    assert client.get("/partner/v1/staff/sessions/current",
                      headers=bearer(token)).status_code == 401


def test_each_refusal_tells_the_cashier_what_happened_and_what_to_do(desk, client, clock, tabs):
    tab = tabs(DESKTOP, "counter")
    page = tab.page
    tab.go("/counter/")
    sign_in(page, desk)
    expect(page.locator("#whoami")).to_contain_text("张伟")
    result = page.locator("#hold-result")

    def refused(code: str, visit: str, amount: str, message: str, answer: str | None) -> None:
        hold(page, code, visit, amount)
        expect(result.get_by_role("alert")).to_contain_text(message)
        if answer is not None:
            expect(result.get_by_role("alert")).to_have_attribute("data-code", answer)

    # Unreadable: caught before sending (not 18 digits) or refused by the service.
    refused("12345", "V-1", "100", "无法识别此码", "")
    refused("abc.def.ghi", "V-1", "100", "无法识别此码", "token_malformed")
    axe_check(page, "unreadable")
    shot(page, "unreadable")
    # A code that names no live token of this hospital: here, another hospital's.
    refused(desk.issued(partner=desk.hospital)["code"], "V-2", "100", "此码不能在本院使用",
            "code_unknown")
    # Another hospital's, and another scenario's, token scanned from an older QR (the JWS).
    refused(desk.issued(partner=desk.hospital)["token"], "V-3", "100",
            "此码是出示给其他医院的", "token_wrong_audience")
    refused(desk.for_another_scenario(), "V-4", "100",
            "这不是先诊后付的信用码", "token_wrong_scenario")
    # More than the patient may use: no amount is told.
    over = desk.issued()
    refused(over["code"], "V-5", "900000", "超出该患者本次可用的先诊后付额度", "limit_exceeded")
    expect(result).not_to_contain_text("¥")
    shot(page, "limit-exceeded")
    # Used once: the JWS says so.
    used = desk.issued()
    hold(page, used["token"], "V-6", "50")
    expect(result.get_by_role("status")).to_contain_text("已冻结 ¥50.00")
    # the page clears the form and lists the new hold before the next code is typed
    expect(page.get_by_label("患者信用码")).to_have_value("")
    expect(page.get_by_role("button", name="冻结", exact=True)).to_be_enabled()
    refused(used["token"], "V-7", "50", "此码已经用过", "token_replayed")
    # The same visit number for another hold.
    refused(desk.issued()["code"], "V-6", "60", "这个就诊号已用于另一笔冻结",
            "idempotency_conflict")
    # Expired.
    stale = desk.issued()
    clock.advance(minutes=6)
    refused(stale["token"], "V-8", "50", "此码已过期", "token_expired")
    # Consent withdrawn after the code was shown.
    withdrawn = desk.issued()
    withdraw(client, desk.resident, desk.consents["medical_credit"])
    refused(withdrawn["token"], "V-9", "50", "患者已撤回先诊后付授权", "token_revoked")
    axe_check(page, "withdrawn")
    shot(page, "consent-withdrawn")
    page.get_by_role("button", name="长辈模式").click()  # large text, high contrast
    expect(page.locator("html")).to_have_class(re.compile("elder"))
    axe_check(page, "withdrawn, elder mode")
    shot(page, "consent-withdrawn-elder")

    page.get_by_role("button", name=re.compile("切换到英文")).click()
    page.get_by_label("Patient's code").fill(withdrawn["token"])
    page.get_by_label("Visit number").fill("V-10")
    page.get_by_label("Amount to hold (yuan)").fill("50")
    page.get_by_role("button", name="Hold", exact=True).click()
    expect(result.get_by_role("alert")).to_contain_text(
        "The patient withdrew their consent to treat first, pay later")
    shot(page, "consent-withdrawn-english")
