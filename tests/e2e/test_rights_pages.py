"""Every right has a page (issue 24 item 2): a resident on a phone (375×667) raises a dispute
from a record, asks for a human review and reads its outcome, applies to repair a record with
the credit pledge, issues a certificate, shares its verification link and revokes it, reads
the summary of their data and downloads the file, and erases the account — in Chinese, in
English and in elder mode (and once more on a desktop screen), each page checked by axe-core and
photographed.

On the Chinese pages no Latin letter is shown (no codes, no ISO times or durations); on the
English ones no code and no ISO time.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.support import axe_check, shot
from tests.support.disputes import Residents
from tests.support.factories import bearer

pytestmark = pytest.mark.e2e

PAGES = ("reports", "repair", "reviews", "disputes", "export", "erasure")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d|\bP\d+[YMD]|\bPT\d")
CODES = re.compile(r"\b[a-z]+_[a-z_]+\b")  # no_violation, record_corrected, access_log…


def _ready(page: Any) -> None:
    expect(page.locator("#content")).to_have_attribute("data-ready", "true")


def _shown(page: Any) -> str:
    return page.locator("main").inner_text()


def _chinese_only(page: Any, allowed: str = "") -> None:
    """The Chinese page shows no Latin letter, apart from `allowed` (a masked ID's X)."""
    text = _shown(page)
    for part in filter(None, allowed.split("|")):
        text = text.replace(part, "")
    assert not re.search(r"[A-Za-z]", text), text


def _english_clean(page: Any) -> None:
    text = _shown(page)
    assert not ISO_TIME.search(text), text
    assert not CODES.search(text), text


def test_a_resident_uses_every_right_on_a_phone_in_chinese_english_and_elder_mode(
        app, client, idp, clock, tabs, tmp_path):
    people = Residents(app, client, idp, clock)
    late = people.record("payment_overdue")
    old_penalty = people.record("admin_penalty", "2026-03-01")
    tab = tabs(PHONE, "phone")
    page = tab.page

    # -- a dispute raised from a record (the records page links here with the record id)
    tab.go(f"/h5/disputes?record={late['id']}#token={people.a}")
    _ready(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("我的异议")
    raise_card = page.locator("#raise")
    expect(raise_card).to_contain_text("水电气 · 逾期缴费")
    raise_card.get_by_role("button", name="提交异议").click()
    expect(raise_card.get_by_role("alert")).to_contain_text("请填写异议理由。")
    raise_card.get_by_label("异议理由").fill("我是按时缴费的，银行有记录")
    raise_card.get_by_label("补充说明或证据（可选）").fill("回单号 20260920-17")
    raise_card.get_by_role("button", name="提交异议").click()
    expect(page.locator("#flash")).to_contain_text("异议已提交")
    expect(page.locator("#raise")).to_have_count(0)
    assert "record=" not in page.url
    item = page.locator("#disputes > li").first
    expect(item).to_have_attribute("data-status", "open")
    expect(item).to_contain_text("处理期限")
    expect(item).to_contain_text("处理完成前照常计入分数")
    axe_check(page, "disputes zh")
    _chinese_only(page)
    shot(page, "disputes-zh")
    # the same record again: the page says it is already under dispute, with no form
    tab.go(f"/h5/disputes?record={late['id']}")
    _ready(page)
    expect(page.locator("#raise")).to_contain_text("已在异议处理中")
    expect(page.locator("#raise form")).to_have_count(0)

    # -- a human review: asked on the page, decided by a reviewer, read on the page
    page.locator("#menu").get_by_role("link", name="人工复核").click()
    _ready(page)
    page.locator("#ask-card summary").click()
    page.get_by_label("某个场景的资格结果").check()
    scenario = page.get_by_label("哪个场景")
    expect(scenario).to_be_visible()
    scenario.select_option("medical_credit")
    page.get_by_label("复核理由").fill("我有稳定收入，希望人工核实")
    page.get_by_role("button", name="提交复核申请").click()
    expect(page.locator("#flash")).to_contain_text("复核申请已提交")
    review = page.locator("#reviews > li").first
    expect(review).to_have_attribute("data-status", "open")
    expect(review).to_contain_text("工作人员正在复核")
    review_id = review.get_attribute("data-review")
    decided = client.post(f"/admin/v1/reviews/{review_id}/decide",
                          headers=bearer(people.reviewer_key),
                          json={"outcome": "confirmed", "note": "失信被执行人记录仍在公示期内",
                                "effect": {"kind": "confirmed"}})
    assert decided.status_code == 200, decided.get_json()
    page.reload()
    _ready(page)
    expect(review).to_contain_text("维持原结果")
    expect(review).to_contain_text("复核人员说明：失信被执行人记录仍在公示期内")
    axe_check(page, "reviews zh")
    _chinese_only(page)
    shot(page, "reviews-zh")
    # a benefit not granted can link straight to the form, that decision chosen
    tab.go("/h5/reviews?subject=eligibility&scenario=medical_credit")
    _ready(page)
    expect(page.locator("#ask-card")).to_have_attribute("open", "")
    expect(page.get_by_label("某个场景的资格结果")).to_be_checked()
    expect(page.get_by_label("哪个场景")).to_have_value("medical_credit")

    # -- credit repair: the old penalty can be repaired (the records page links to its
    # application), the debtor listing not yet
    tab.go(f"/h5/repair?record={old_penalty['id']}")
    _ready(page)
    debtor = page.locator("#repairable > li", has_text="失信被执行人")
    expect(debtor).to_contain_text("暂不能申请")
    expect(debtor).to_contain_text("相关义务尚未履行完毕")
    expect(debtor.get_by_role("button", name="申请修复")).to_have_count(0)
    penalty = page.locator(f"#repairable > li[data-record='{old_penalty['id']}']")
    expect(penalty).to_contain_text("可申请修复")
    expect(penalty.get_by_role("button", name="申请修复")).to_be_visible()
    expect(penalty.locator(".pledge")).to_contain_text("本人郑重承诺")  # opened by the link
    expect(penalty.get_by_label("我已阅读并同意以上信用承诺")).to_be_focused()
    penalty.get_by_role("button", name="提交修复申请").click()
    expect(penalty.get_by_role("alert")).to_contain_text("请先阅读并勾选同意信用承诺。")
    penalty.get_by_label("我已阅读并同意以上信用承诺").check()
    penalty.get_by_label("情况说明（可选）").fill("罚款已于四月缴清")
    penalty.get_by_role("button", name="提交修复申请").click()
    expect(page.locator("#flash")).to_contain_text("修复申请已提交")
    expect(penalty).to_contain_text("审核中")
    expect(page.locator("#applications > li").first).to_contain_text("工作人员正在审核")
    repair_id = page.locator("#applications > li").first.get_attribute("data-repair")
    approved = client.post(f"/admin/v1/repairs/{repair_id}/decide",
                           headers=bearer(people.reviewer_key),
                           json={"decision": "approve", "note": "已核实缴款凭证"})
    assert approved.status_code == 200, approved.get_json()
    page.reload()
    _ready(page)
    expect(penalty).to_contain_text("已修复")
    expect(penalty).to_contain_text("不再计入信用分")
    application = page.locator("#applications > li").first
    expect(application).to_contain_text("已通过")
    expect(application).to_contain_text("工作人员说明：已核实缴款凭证")
    axe_check(page, "repair zh")
    _chinese_only(page)
    shot(page, "repair-zh")

    # -- a no-violation certificate: issued, its link shared and checked, then revoked
    page.locator("#menu").get_by_role("link", name="信用报告").click()
    _ready(page)
    page.locator("#issue-card summary").click()
    page.get_by_label(re.compile("无违法违规记录证明")).check()
    expect(page.locator("#issue-sections")).to_be_hidden()
    scope = page.locator("#issue-scope")
    expect(scope.get_by_label("交通")).to_be_checked()
    scope.get_by_label("水电气").check()  # late utility payments certified too
    page.get_by_role("button", name="出具报告").click()
    expect(page.locator("#flash")).to_contain_text("报告已出具")
    report = page.locator("#reports > li").first
    expect(report).to_contain_text("无违法违规记录证明")
    expect(report).to_contain_text("有效")
    link = report.get_by_label("核验链接")
    expect(link).to_have_value(re.compile(r"/reports/verify\?code="))
    expect(report).to_contain_text("证明范围：公共信用、司法、纳税、水电气、交通")
    # the new penalty, the listing, the late bill (disputed); the repaired penalty is gone
    expect(report).to_contain_text("有3条有效负面记录")
    expect(report.get_by_role("img", name="报告核验二维码")).to_be_visible()
    verify_url = link.input_value()
    code = verify_url.split("code=")[1]
    verdict = client.get(f"/reports/verify?code={code}&format=json").get_json()
    assert verdict["genuine"] is True and verdict["kind"] == "no_violation"
    axe_check(page, "reports zh")
    _chinese_only(page, allowed=r"440***********" + verdict["content"]["subject"]["id_number"][-4:])
    shot(page, "reports-zh")
    report.get_by_role("button", name="撤销报告").click()
    expect(report).to_contain_text("无法恢复")
    report.get_by_role("button", name="确认撤销").click()
    expect(page.locator("#flash")).to_contain_text("报告已撤销")
    expect(page.locator("#reports > li").first).to_have_attribute("data-status", "revoked")
    expect(page.locator("#reports > li").first.get_by_role("button", name="撤销报告")
           ).to_have_count(0)
    revoked = client.get(f"/reports/verify?code={code}&format=json").get_json()
    assert revoked["revoked"] is True and revoked["content"] is None
    # a credit report with the score among its parts, and its PDF
    page.locator("#issue-card summary").click()
    page.get_by_label("鹏城分", exact=True).check()
    page.get_by_role("button", name="出具报告").click()
    expect(page.locator("#flash")).to_contain_text("报告已出具")
    report = page.locator("#reports > li[data-status='active']")
    expect(report).to_contain_text("个人信用报告")
    expect(report).to_contain_text("包含内容：鹏城分、信用记录、表彰、志愿服务与献血")
    expect(report.locator(".report-content")).to_contain_text("水电气：共37条，其中负面1条")
    expect(report.locator(".report-content")).to_contain_text("纳税：共3条，无负面记录")
    expect(report.locator(".report-content")).to_contain_text("交通：无记录")
    with page.expect_download() as pdf:
        report.get_by_role("button", name="下载报告文件").click()
    assert (pdf.value.path().read_bytes()[:5]) == b"%PDF-"

    # -- the dispute decided: the record corrected, each change read in words
    mine = client.get("/api/v1/me/disputes", headers=bearer(people.a)).get_json()["items"]
    dispute_id = mine[0]["id"]
    assert people.resolve(dispute_id, "corrected", note="银行回单属实",
                          correction={"amount_fen": 9000}).status_code == 200
    tab.go("/h5/disputes")
    _ready(page)
    decided = page.locator(f"#disputes > li[data-dispute='{dispute_id}']")
    expect(decided).to_contain_text("已处理")
    expect(decided).to_contain_text("处理结果：记录已更正")
    expect(decided).to_contain_text("金额：¥120.00 → ¥90.00")
    expect(decided).to_contain_text("工作人员说明：银行回单属实")
    _chinese_only(page)

    # -- the export: a summary a person reads, and the file
    page.locator("#menu").get_by_role("link", name="导出数据").click()
    _ready(page)
    summary = page.locator("#summary")
    records = len(people.records())
    expect(summary.locator("dd[data-section='records']")).to_contain_text(f"{records} 条")
    expect(summary.locator("dd[data-section='disputes']")).to_contain_text("1 件")
    expect(summary.locator("dd[data-section='repairs']")).to_contain_text("1 件")
    expect(summary.locator("dd[data-section='review_requests']")).to_contain_text("1 件")
    expect(summary.locator("dd[data-section='waivers']")).to_have_text("暂无")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("下载数据文件")).click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert len(exported["records"]) == records and len(exported["disputes"]) == 1
    axe_check(page, "export zh")
    _chinese_only(page)
    shot(page, "export-zh")
    page.get_by_text("在此页查看完整数据").click()  # where a web-view blocks the download
    expect(page.locator(".export-raw")).to_contain_text('"format": "pengcheng-export/1"')

    # -- erasure, read before deciding (it is done in the other test)
    page.locator("#menu").get_by_role("link", name="注销账户").click()
    _ready(page)
    expect(page.locator("#deleted")).to_contain_text("姓名、身份证号、手机号")
    kept = page.locator("#kept > li")
    expect(kept.filter(has_text="司法 · 失信被执行人")).to_contain_text("保存至")
    expect(kept.filter(has_text="审计日志")).to_contain_text("长期保存")
    expect(page.locator("#login-again")).to_contain_text("重新关联")
    expect(page.get_by_role("button", name="永久注销我的账户")).to_be_disabled()
    axe_check(page, "erasure zh")
    _chinese_only(page)
    shot(page, "erasure-zh")

    # -- the same pages in English
    page.get_by_role("button", name=re.compile("切换到英文")).click()
    for name in PAGES:
        tab.go(f"/h5/{name}")
        _ready(page)
        _english_clean(page)
        axe_check(page, f"{name} en")
        shot(page, f"{name}-en")
    tab.go("/h5/reviews")
    _ready(page)
    expect(page.locator("#reviews > li").first).to_contain_text("Effect: the decision stands")
    tab.go("/h5/erasure")
    _ready(page)
    expect(page.locator("#kept")).to_contain_text("Kept until")
    expect(page.locator("#kept")).to_contain_text("Legal basis")
    page.get_by_label("I understand: my data cannot be recovered").check()
    page.get_by_label("Type ERASE to confirm").fill("erase")
    expect(page.get_by_role("button", name="Erase my account for good")).to_be_enabled()
    page.get_by_label("I understand: my data cannot be recovered").uncheck()
    expect(page.get_by_role("button", name="Erase my account for good")).to_be_disabled()

    # -- and in elder mode (适老化), in Chinese: large text, still within the phone's width
    page.evaluate("() => { localStorage.setItem('pc.lang', 'zh');"
                  " localStorage.setItem('pc.elder', '1'); }")
    for name in PAGES:
        tab.go(f"/h5/{name}")
        _ready(page)
        assert page.evaluate("document.documentElement.classList.contains('elder')")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        axe_check(page, f"{name} zh elder")
        shot(page, f"{name}-zh-elder")

    # -- and on a desktop screen
    page.evaluate("() => localStorage.setItem('pc.elder', '0')")
    page.set_viewport_size(DESKTOP)
    for name in PAGES:
        tab.go(f"/h5/{name}")
        _ready(page)
        axe_check(page, f"{name} zh desktop")
        shot(page, f"{name}-zh-desktop")


def test_erasing_takes_a_ticked_box_and_a_typed_word_then_states_what_was_done(
        app, client, idp, clock, tabs):
    people = Residents(app, client, idp, clock)
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/erasure#token={people.a}")
    _ready(page)
    button = page.get_by_role("button", name="永久注销我的账户")
    expect(button).to_be_disabled()
    button.click(force=True)  # one accidental tap does nothing
    word = page.get_by_label("请输入“注销”以确认")
    word.fill("注销")
    word.press("Enter")  # nor the word and Enter without the box ticked
    expect(button).to_be_disabled()
    word.fill("")
    assert client.get("/api/v1/me", headers=bearer(people.a)).status_code == 200
    page.get_by_label("我已了解上述内容：注销后数据无法恢复，授权全部撤回").check()
    expect(button).to_be_disabled()
    page.get_by_label("请输入“注销”以确认").fill("注")
    expect(button).to_be_disabled()
    page.get_by_label("请输入“注销”以确认").fill("注销")
    expect(button).to_be_enabled()
    button.click()
    done = page.locator("#erased")
    expect(done).to_contain_text("账户已注销")
    expect(done).to_contain_text("重新关联")
    shot(page, "erased-zh")
    assert page.evaluate("sessionStorage.length") == 0
    assert client.get("/api/v1/me", headers=bearer(people.a)).status_code == 401
    expect(done.get_by_role("link", name="返回登录页")).to_have_attribute("href", "/h5/login")


def test_the_erasure_can_be_confirmed_from_the_keyboard_alone(app, client, idp, clock, tabs):
    people = Residents(app, client, idp, clock)
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go(f"/h5/erasure#token={people.a}")
    _ready(page)
    focused = "document.activeElement.id"
    for _ in range(120):  # Tab through the page until the box is reached
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "erase-understood":
            break
    assert page.evaluate(focused) == "erase-understood"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "erase-word"
    page.keyboard.type("注销")
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "erase"
    page.keyboard.press("Enter")
    expect(page.locator("#erased")).to_contain_text("账户已注销")
    assert client.get("/api/v1/me", headers=bearer(people.a)).status_code == 401
