"""Every resident page, as a resident with a real history sees it: in Chinese, in English and in
elder mode (适老化), on a phone; each page passes axe-core (no serious or critical violation),
keeps to the phone's width, and the Chinese page shows no code, ISO duration or untranslated
text key. Screenshots of each go to artifacts/test_resident_pages/<test>/."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from app.api.pages.routes import RESIDENT_PAGES
from app.runtime import runtime
from core.identity import Partner
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.support import axe_check, shot
from tests.support.factories import bearer, cli, new_operator
from tests.support.medical_credit import Credit
from tests.support.tokens import push, rec

pytestmark = pytest.mark.e2e

PAGES = ["/h5/", *(f"/h5/{name}" for name in RESIDENT_PAGES)]

# The text a resident reads on the page, every <details> unfolded (a notice's retention period
# is inside one): rendered text only (hidden parts and the language button, which names the
# other language, are left out), less what is shown as a reference code on purpose (`.mono`: a
# model version, a pseudonym, a signed receipt).
VISIBLE_TEXT = """() => {
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  const skip = [...document.querySelectorAll('.mono, #lang-toggle, .visually-hidden, .skip')];
  const saved = skip.map((el) => [el, el.style.display]);
  skip.forEach((el) => { el.style.display = 'none'; });
  const text = document.body.innerText;
  saved.forEach(([el, value]) => { el.style.display = value; });
  return text;
}"""

# Bounded by anything but ASCII letters, digits and "_" (a Chinese character next to a code is
# no word boundary for `\b`).
EDGE_L, EDGE_R = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"
UNTRANSLATED_KEY = re.compile(EDGE_L + r"[a-z][a-z_-]+\.[a-z][a-z0-9_.-]*" + EDGE_R)
ISO_DURATION = re.compile(EDGE_L + r"P(?:\d+[YMWD])+(?:T\d+[HMS])*|PT\d+[HMS]" + EDGE_R)
ASCII_WORD = re.compile(EDGE_L + r"[a-z][a-z_]{2,}" + EDGE_R)  # given, expired, no_violation
ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")  # the pages write 2026年11月8日


def problems_in_chinese(text: str) -> list[str]:
    """What a Chinese page must not show: a text key, an ISO-8601 duration or date, an English
    word or code in lower case (names and references in capitals, like 'SZ-0001', are data)."""
    return sorted({*UNTRANSLATED_KEY.findall(text), *ISO_DURATION.findall(text),
                   *ASCII_WORD.findall(text), *ISO_DATE.findall(text)})


def problems_in_english(text: str) -> list[str]:
    """A text key, an ISO-8601 duration or date."""
    return sorted({*UNTRANSLATED_KEY.findall(text), *ISO_DURATION.findall(text),
                   *ISO_DATE.findall(text)})


@pytest.fixture
def resident(app, client, idp):
    """A resident with three good years, a traffic violation since their first score (two
    scores: a trend), a 先诊后付 bill, a waived deposit, a certificate checked before and after
    its revocation, points and messages: every page has something to show."""
    credit = Credit(app, client, idp)
    assert client.get("/api/v1/me/score", headers=bearer(credit.resident)).status_code == 200
    with app.app_context(), runtime().uow() as uow:  # partners register one bilingual name
        hospital = uow.session.get(Partner, credit.hospital.id)
        hospital.name = "鹏城人民医院 Pengcheng People's Hospital"
        uow.session.get(Partner, credit.bikes.id).name = "鹏城单车 Pengcheng Bikes"
        uow.commit()
    push(client, credit.source_key, [rec(7, "tv1", "traffic", "violation", "2026-10-10T00:00:00Z")])
    credit.bill(35050)
    credit.waiver()
    # a certificate checked by someone, then revoked and checked again: the access log says
    # what they learned (kind, result, sections) in words
    issued = client.post("/api/v1/me/reports", headers=bearer(credit.resident),
                         json={"kind": "no_violation"}).get_json()
    for _ in range(2):
        checked = client.get("/reports/verify", query_string={"code": issued["code"]},
                             headers={"Accept": "application/json"})
        assert checked.status_code == 200
        client.post(f"/api/v1/me/reports/{issued['report_id']}/revoke",
                    headers=bearer(credit.resident))
    assert cli(app, "jobs", "run").exit_code == 0
    return credit


def visit(tab, path):
    """Open a page and wait until its script has rendered it."""
    page = tab.page
    tab.go(path)
    expect(page.locator("#content[data-ready='true']")).to_be_attached()
    return page


def set_prefs(page, lang, elder):
    page.evaluate("([lang, elder]) => { localStorage.setItem('pc.lang', lang);"
                  " localStorage.setItem('pc.elder', elder ? '1' : '0'); }", [lang, elder])


@pytest.mark.parametrize(("lang", "elder"), [("zh", False), ("en", False), ("zh", True)],
                         ids=["zh", "en", "zh-elder"])
def test_every_resident_page_reads_well_and_passes_axe(resident, tabs, lang, elder):
    tab = tabs(PHONE, "phone")
    page = visit(tab, f"/h5/#token={resident.resident}")
    set_prefs(page, lang, elder)
    found = {}
    for path in PAGES:
        page = visit(tab, path)
        shot(page, f"{path.removeprefix('/h5/') or 'home'}-{lang}{'-elder' if elder else ''}")
        assert page.evaluate("document.documentElement.lang") == ("en" if lang == "en" else "zh-CN")
        assert page.evaluate("document.documentElement.classList.contains('elder')") is elder
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        axe_check(page, f"{path} ({lang}{', elder' if elder else ''})")
        text = page.evaluate(VISIBLE_TEXT)
        bad = problems_in_chinese(text) if lang == "zh" else problems_in_english(text)
        if bad:
            found[path] = bad
        if path == "/h5/consents":  # retention periods in words, not "P3Y after withdrawal"
            assert re.search(r"撤回后\d+年" if lang == "zh" else r"\d+ years? after withdrawal",
                             text), text
    assert not found, f"untranslated or raw text on the {lang} pages: {found}"


def test_elder_mode_is_a_switch_that_persists(resident, tabs):
    tab = tabs(PHONE, "phone")
    page = visit(tab, f"/h5/#token={resident.resident}")
    switch = page.get_by_role("button", name="长辈模式")
    expect(switch).to_have_attribute("aria-pressed", "false")
    font = "parseFloat(getComputedStyle(document.documentElement).fontSize)"
    size = page.evaluate(font)
    switch.click()
    expect(switch).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(font) >= size * 1.2
    page = visit(tab, "/h5/score")
    expect(page.get_by_role("button", name="长辈模式")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    page.get_by_role("button", name="长辈模式").click()
    page = visit(tab, "/h5/records")
    assert not page.evaluate("document.documentElement.classList.contains('elder')")


def test_the_pages_are_usable_from_the_keyboard(resident, tabs):
    """Tab from the top reaches the menu's links and the page's own controls; the skip link
    comes first and moves the focus to the content."""
    tab = tabs(PHONE, "phone")
    page = visit(tab, f"/h5/records#token={resident.resident}")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("(el => el.id || (el.querySelector('[data-i18n]') || el)"
                                  ".textContent.trim())(document.activeElement)"))
    assert {"f-category", "f-status", "f-period", "提出异议", "首页", "消息"} <= reached, reached


def test_home_lists_what_needs_action_and_the_benefits_usable_now(resident, app, client, tabs):
    violation = next(r for r in client.get("/api/v1/me/records", headers=bearer(
        resident.resident)).get_json()["items"] if r["type"] == "violation")
    dispute = client.post("/api/v1/me/disputes", headers=bearer(resident.resident), json={
        "record_id": violation["id"], "reason": "那天我不在深圳"}).get_json()
    _reviewer, reviewer_key = new_operator(app, "reviewer")
    answered = client.post(f"/admin/v1/disputes/{dispute['id']}/resolve",
                           headers=bearer(reviewer_key),
                           json={"outcome": "upheld", "note": "监控记录核实无误"})
    assert answered.status_code == 200, answered.get_json()
    tab = tabs(PHONE, "phone")
    page = tab.page
    page.clock.install(time="2026-11-01T12:00:00+08:00")  # the app's clock (FrozenClock)
    page = visit(tab, f"/h5/#token={resident.resident}")
    now, *older = (s["score"] for s in client.get(
        "/api/v1/me/score/history", headers=bearer(resident.resident)).get_json()["items"])
    before = next(score for score in older if score != now)  # the last different score
    assert now < before  # the violation's cost
    expect(page.locator("#home-trend")).to_have_text(f"比上次低 {before - now} 分")
    sparkline = page.get_by_role("img", name=re.compile(f"分数变化：.* {before}；.* {now}"))
    expect(sparkline).to_be_visible()
    actions = page.locator("#home-actions")
    bill = actions.get_by_role("link", name=re.compile("先诊后付账单待还 ¥350.50"))
    expect(bill).to_have_attribute("href", "/h5/medical")
    expect(actions).to_contain_text("未读消息")
    answer = actions.get_by_role("link", name="您的异议已有处理结果（2026年11月1日）")
    expect(answer).to_have_attribute("href", "/h5/disputes")
    usable = page.locator("#home-usable")
    expect(usable).to_contain_text("信用就医·先诊后付")
    expect(usable).to_contain_text("共享单车免押")
    shot(page, "home-actions")


def test_desktop_pages(resident, tabs):
    tab = tabs(DESKTOP, "desktop")
    visit(tab, f"/h5/#token={resident.resident}")
    for path in ("/h5/", "/h5/score", "/h5/records", "/h5/entitlements"):
        page = visit(tab, path)
        axe_check(page, f"{path} desktop")
        shot(page, f"{path.removeprefix('/h5/') or 'home'}-desktop")


def test_home_reminds_a_consent_that_ends_within_a_month(resident, client, tabs):
    consents = client.get("/api/v1/me/consents", headers=bearer(resident.resident)).get_json()
    ending = min(c["expires_at"] for c in consents["items"] if c["status"] == "active")
    tab = tabs(PHONE, "phone")
    page = tab.page
    expires = datetime.fromisoformat(ending)
    page.clock.install(time=expires - timedelta(days=10))  # the phone's date, ten days before
    page = visit(tab, f"/h5/#token={resident.resident}")
    local = expires.astimezone(timezone(timedelta(hours=8)))
    reminder = page.locator("#home-actions").get_by_role(
        "link", name=f"一项授权将于 {local.year}年{local.month}月{local.day}日 到期，可续期")
    expect(reminder.first).to_have_attribute("href", re.compile(r"^/h5/consents\?purpose="))
