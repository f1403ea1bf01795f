"""The H5 pages as HTTP resources: headers, no third-party or inline code, texts in both
languages. (What they do in a browser is tested in tests/e2e.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.api.pages.routes import CSP, RESIDENT_PAGES
from core.registry import CATEGORIES

APP = Path(__file__).resolve().parents[2] / "app"
STATIC = APP / "static" / "h5"
PAGES = ["/", "/h5/", "/h5/login", "/counter/", *(f"/h5/{name}" for name in RESIDENT_PAGES)]


def texts() -> dict[str, dict[str, str]]:
    return json.loads((STATIC / "i18n.json").read_text(encoding="utf-8"))


def test_every_page_is_served_uncached_with_a_strict_content_security_policy(client):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "text/html"
        assert response.headers["Cache-Control"] == "no-store"
        policy = response.headers["Content-Security-Policy"]
        assert policy == CSP
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                          "img-src 'self' data:", "connect-src 'self'",
                          "frame-ancestors 'none'"):
            assert directive in policy
        assert "unsafe" not in policy
        camera = "camera=(self)" if path == "/counter/" else "camera=()"
        assert camera in response.headers["Permissions-Policy"], path


def test_an_unknown_page_is_not_found_and_the_root_is_the_home(client):
    assert client.get("/h5/settings").status_code == 404
    for path in ("/", "/h5/"):
        html = client.get(path).get_data(as_text=True)
        assert "/static/h5/js/home.js" in html, path


def test_pages_load_only_their_own_scripts_and_styles_and_nothing_inline(client):
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        assert scripts, f"{path} runs its own module"
        for attrs, body in scripts:
            assert re.search(r'src="/static/h5/js/[\w-]+\.js"', attrs) and not body.strip()
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
        for url in re.findall(r'(?:href|src)="([^"]+)"', html):
            assert url.startswith(("/", "#", "data:")), url
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
            with client.get(asset) as response:
                assert response.status_code == 200, asset


def test_scripts_and_styles_reach_no_other_origin_and_never_inject_html():
    for path in [*STATIC.rglob("*.js"), *STATIC.rglob("*.css")]:
        source = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s'\"`)]*", source))
        assert urls <= {"http://www.w3.org/2000/svg"}, (path.name, urls)
        assert "@import" not in source and "url(" not in source, path.name
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                       "eval(", "new Function", "localStorage.setItem(SESSION"):
            assert banned not in source, (path.name, banned)


def test_the_only_things_kept_in_local_storage_are_the_language_and_elder_mode():
    for path in STATIC.rglob("*.js"):
        source = path.read_text(encoding="utf-8")
        for key in re.findall(r"localStorage\.setItem\(([^,]+),", source):
            assert key.strip() in ("LANG_KEY", "ELDER_KEY"), (path.name, key)


def test_every_text_on_the_pages_exists_in_chinese_and_english():
    table = texts()
    assert set(table["zh"]) == set(table["en"])
    assert all(v.strip() for lang in table.values() for v in lang.values())
    used: set[str] = set()
    for path in (APP / "templates").rglob("*.html"):
        if "reports" in path.parts:
            continue
        html = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"data-i18n(?:-label|-placeholder)?=\"([\w.-]+)\"", html))
        used |= set(re.findall(r"t\('([\w.-]+)'\)", html))
    for path in STATIC.rglob("*.js"):
        used |= set(re.findall(r"\bt\('([\w.-]+)'", path.read_text(encoding="utf-8")))
    used |= {f"nav.{name}" for name in RESIDENT_PAGES}
    used |= {key for pair in RESIDENT_PAGES.values() for key in pair if key}
    assert sorted(used - set(table["zh"])) == []


def test_every_registered_category_and_record_type_has_a_name_in_both_languages():
    table = texts()
    for category in CATEGORIES.values():
        assert table["zh"][f"cat.{category.code}"] == category.name_zh
        assert table["en"][f"cat.{category.code}"] == category.name_en
        for kind in category.types.values():
            key = f"rtype.{category.code}.{kind.code}"
            assert (table["zh"][key], table["en"][key]) == (kind.name_zh, kind.name_en)


def test_every_access_log_action_and_what_operators_saw_has_a_name_in_both_languages():
    from rewards.access import ACTIONS
    from rights.models import REVIEW_SUBJECTS
    from rights.view import SEEN

    table = texts()
    assert [a for a in sorted(ACTIONS) if f"action.{a}" not in table["zh"]] == []
    assert [s for s in sorted(SEEN) if f"seen.{s}" not in table["zh"]] == []
    assert [s for s in REVIEW_SUBJECTS if f"subject.{s}" not in table["zh"]] == []


@pytest.mark.parametrize(("path", "types"), [
    ("/static/h5/js/core.js", ("text/javascript", "application/javascript")),
    ("/static/h5/app.css", ("text/css",)),
    ("/static/h5/i18n.json", ("application/json",)),
])
def test_the_page_assets_are_served_with_their_types(client, path, types):
    with client.get(path) as response:
        assert response.status_code == 200
        assert response.mimetype in types
