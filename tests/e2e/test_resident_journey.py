"""The journey of the issue, in a real browser: a resident on a phone and a cashier at a desk.

demo login → grant scoring consent → score and reasons → grant 先诊后付 consent (with the
separate acknowledgement) → QR shown and refreshed before it expires → a cashier signs in,
holds with the code and settles → the resident sees the hospital in the access log, sees the
bill and pays → withdraws the consent → the counter is told the consent was withdrawn.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.support import hospital, resident_without_consent
from tests.support.factories import bearer

pytestmark = pytest.mark.e2e


def show_code(page):
    """Open the 先诊后付 code on the entitlements page; returns the token the page received."""
    with page.expect_response(re.compile(r"/api/v1/me/tokens$")) as issued:
        page.locator("#ent-medical_credit").get_by_role("button", name="出示信用码").click()
    expect(page.locator("#qr svg")).to_be_visible()
    return issued.value.json()["token"]


def test_a_resident_and_a_cashier_use_treat_first_pay_later_end_to_end(app, client, idp, tabs):
    resident_without_consent(app, client, idp, 11, "李四")
    clinic, clinic_key = hospital(app)

    phone = tabs(PHONE, "resident")
    page = phone.page
    page.clock.install()  # the page's timers, so the QR refresh can be fast-forwarded

    # Demo login, then the score page asks for consent first.
    phone.go("/h5/login")
    phone.shot("login")
    page.get_by_role("button", name=re.compile("李四")).click()
    page.wait_for_url("**/h5/")  # the home, which asks for the scoring consent first
    expect(page.locator("#home-score")).to_contain_text("计算鹏城分需要您的授权")
    page.get_by_role("link", name="前往授权中心").click()

    # Scoring consent: choose the ordinary categories and grant.
    scoring = page.locator("#notice-scoring")
    scoring.get_by_role("button", name="全选非敏感类别").click()
    expect(scoring.get_by_label("我已阅读并单独同意", exact=False)).to_be_hidden()
    scoring.get_by_role("button", name="同意授权").click()
    flash = page.locator("#flash")
    expect(flash).to_contain_text("已授权")
    expect(page.locator("#notice-scoring")).to_have_attribute("data-state", "active")
    flash.get_by_text("授权回执", exact=True).click()
    flash.get_by_role("button", name="验证回执").click()
    expect(flash).to_contain_text("回执签名有效")

    # The score, its charts, how the parts add up, reasons with tips.
    page.get_by_role("navigation").get_by_role("link", name="我的分数").click()
    expect(page.locator("#reasons li").first).to_contain_text("改善建议")
    assert int(page.locator("#content").get_attribute("data-score")) > 600
    expect(page.get_by_role("img", name=re.compile(r"鹏城分 \d+"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("维度得分图")).first).to_be_visible()
    expect(page.locator("#sum")).to_have_text(re.compile(r"基础分 \d+ \+ 各维度得分 \d+ = \d+ 分"))
    expect(page.locator("#model")).to_have_text(re.compile(r"\S+"))
    phone.shot("score")

    # 先诊后付 needs the separate acknowledgement.
    page.get_by_role("navigation").get_by_role("link", name="授权中心").click()
    medical = page.locator("#notice-scenario-medical_credit")
    medical.get_by_role("button", name="同意授权").click()
    expect(medical.get_by_role("alert")).to_contain_text("请先勾选单独同意")
    medical.get_by_label("我已阅读并单独同意", exact=False).check()
    medical.get_by_role("button", name="同意授权").click()
    expect(page.locator("#flash")).to_contain_text("已授权")
    expect(page.locator("#notice-scenario-medical_credit")).to_have_attribute(
        "data-state", "active")
    phone.shot("consents")

    # The QR code, and its refresh before it expires (server lifetime 300 s: refresh at 270 s).
    page.get_by_role("navigation").get_by_role("link", name="信用权益").click()
    first = show_code(page)
    expect(page.get_by_label("您所在的机构")).to_have_value(clinic.client_id)
    expect(page.locator("#countdown")).to_contain_text("后自动刷新")
    phone.shot("qr")
    with page.expect_response(re.compile(r"/api/v1/me/tokens$")) as refreshed:
        page.clock.fast_forward("04:31")
    token = refreshed.value.json()["token"]
    assert token != first
    expect(page.locator("#qr")).to_have_attribute("data-generation", "2")

    # The cashier signs in with their own account, holds credit for the visit, and settles.
    staff = client.post("/partner/v1/staff", headers=bearer(clinic_key), json={
        "username": "li.na", "name": "李娜", "password": "counter-pass-2026"})
    assert staff.status_code == 201, staff.get_json()
    desk = tabs(DESKTOP, "counter")
    counter = desk.page
    desk.go("/counter/")
    counter.get_by_label("医院编号").fill(clinic.client_id)
    counter.get_by_label("用户名").fill("li.na")
    counter.get_by_label("密码", exact=True).fill("counter-pass-2026")
    counter.get_by_role("button", name="登录").click()
    counter.get_by_label("患者信用码").fill(token)
    counter.get_by_label("就诊号").fill("MZ-0001")
    counter.get_by_label("冻结金额（元）").fill("300")
    counter.get_by_role("button", name="冻结", exact=True).click()
    held = counter.locator("#holds li[data-status='held']")
    expect(held).to_contain_text("¥300.00")
    expect(counter.locator("body")).not_to_contain_text("830")
    desk.shot("held")
    held.get_by_label("账单金额（元）").fill("256.80")
    held.get_by_label("院内账单号").fill("SF-0001")
    held.get_by_role("button", name="结算", exact=True).click()
    expect(counter.locator("#holds li[data-status='captured']")).to_contain_text("已结算")
    desk.shot("captured")

    # The resident sees who checked and used the code, and exactly what they learned.
    page.get_by_role("navigation").get_by_role("link", name="查询记录").click()
    used = page.locator("#access-log li[data-action='consume']").first
    expect(used).to_contain_text(clinic.name)
    expect(used).not_to_contain_text("李娜")  # the hospital, never the cashier
    phone.shot("access-log")

    # The bill, paid through the demo payment channel.
    page.get_by_role("navigation").get_by_role("link", name="先诊后付").click()
    bill = page.locator("#bills li").first
    expect(bill).to_contain_text("¥256.80")
    expect(bill.get_by_label("还款金额（元）")).to_have_value("256.80")
    phone.shot("medical")
    bill.get_by_role("button", name="还款").click()
    expect(page.locator("#flash")).to_contain_text("还款成功")
    expect(page.locator("#owed")).to_have_text("¥0.00")

    # A new code, then withdrawal: the counter finds that code inactive at once.
    page.get_by_role("navigation").get_by_role("link", name="信用权益").click()
    last = show_code(page)
    page.get_by_role("navigation").get_by_role("link", name="授权中心").click()
    medical = page.locator("#notice-scenario-medical_credit")
    medical.get_by_role("button", name="撤回授权").click()
    medical.get_by_role("button", name="确认").click()
    expect(page.locator("#flash")).to_contain_text("已撤回")
    expect(page.locator("#notice-scenario-medical_credit")).to_have_attribute(
        "data-state", "inactive")
    counter.get_by_label("患者信用码").fill(last)
    counter.get_by_label("就诊号").fill("MZ-0002")
    counter.get_by_label("冻结金额（元）").fill("100")
    counter.get_by_role("button", name="冻结", exact=True).click()
    expect(counter.locator("#hold-result")).to_contain_text("患者已撤回先诊后付授权")
    desk.shot("withdrawn")
