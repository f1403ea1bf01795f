"""The resident's QR code carries the 18-digit one-time code, with its digits printed under it
for typing (issue 20 item 3): the QR on the page, as a phone's screen shows it, is read by a
real decoder, and what it reads — and what a cashier types from the digits — is a code the
partner's introspection accepts."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.support import axe_check
from tests.support.medical_credit import Credit
from tests.support.tokens import introspect

pytestmark = pytest.mark.e2e


def test_the_qr_shows_the_code_and_its_digits_for_typing(app, client, idp, tabs):
    credit = Credit(app, client, idp)
    tab = tabs(PHONE, "phone")
    page = tab.go(f"/h5/#token={credit.resident}")
    expect(page.locator("#content[data-ready='true']")).to_be_attached()
    tab.go("/h5/entitlements")
    with page.expect_response(re.compile(r"/api/v1/me/tokens$")) as issued:
        page.locator("#ent-medical_credit").get_by_role("button", name="出示信用码").click()
    code = issued.value.json()["code"]
    digits = page.locator("#code-digits")
    expect(digits).to_have_text(f"{code[:2]} {code[2:6]} {code[6:10]} {code[10:14]} {code[14:]}")
    tab.shot("qr")
    axe_check(page, "entitlements with the QR panel open")

    png = page.locator("#qr svg").screenshot()
    read = zxingcpp.read_barcode(Image.open(BytesIO(png)).convert("L"))
    assert read is not None and read.text == code  # the code, not the JWS
    typed = digits.inner_text().replace(" ", "")
    assert introspect(client, credit.hospital_key, typed).get_json()["active"] is True
