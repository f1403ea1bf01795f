"""The demo sign-in page as a newcomer sees it: the personas first, each with its one line in the
page's language, the one to try first at the top; checked by axe-core and photographed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.runtime import runtime
from app.seed import seed_demo
from core.demo import PERSONAS
from tests.e2e.conftest import PHONE
from tests.e2e.support import axe_check, shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded(app):
    """The demo's residents, seeded before the browser and the live server start."""
    with app.app_context():
        seed_demo(runtime(), residents=2, rng_seed=3, now=runtime().clock.now())
    return app


def test_the_sign_in_page_lists_the_personas_first_with_their_lines(seeded, tabs) -> None:
    tab = tabs(PHONE, "phone")
    page = tab.page
    tab.go("/h5/login")
    items = page.locator("li:has([data-resident])")
    expect(items).to_have_count(len(PERSONAS) + 2)
    for i, persona in enumerate(PERSONAS):
        expect(items.nth(i)).to_contain_text(persona.name)
        expect(items.nth(i)).to_contain_text(persona.zh)
    axe_check(page, "login")
    shot(page, "login-personas-zh")
    page.locator("#lang-toggle").click()
    expect(items.first).to_contain_text(PERSONAS[0].en)
    shot(page, "login-personas-en")
    items.first.locator("[data-resident]").click()
    page.wait_for_url(re.compile(r"/h5/(?!login)"))
