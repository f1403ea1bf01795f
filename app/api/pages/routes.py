"""The H5 pages: the resident's pages (what the mini-program's web-view opens) and the hospital
counter page.

The pages are static shells; their scripts call the same JSON APIs the mini-program and partners
use. Nothing personal is rendered on the server, so a shell can never leak one resident's data
to another. Chinese is rendered here; the scripts switch to English from the same dictionary
(`static/h5/i18n.json`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request

from app.config import is_development

blp = Blueprint("pages", __name__)

# page -> (heading, introduction) text keys; the home grid and every page's menu list the pages
# in this order. Each page runs `static/h5/js/<page>.js`.
RESIDENT_PAGES = {
    "score": ("score.title", None),
    "entitlements": ("ent.title", "ent.intro"),
    "consents": ("consents.title", "consents.intro"),
    "points": ("points.title", None),
    "medical": ("medical.title", None),
    "waivers": ("waivers.title", None),
    "records": ("records.title", "records.intro"),
    "access-log": ("access.title", "access.intro"),
    "notifications": ("notifications.title", None),
    # the resident's rights
    "reports": ("reports.title", "reports.intro"),
    "repair": ("repair.title", "repair.intro"),
    "reviews": ("reviews.title", "reviews.intro"),
    "disputes": ("disputes.title", "disputes.intro"),
    "export": ("export.title", "export.intro"),
    "erasure": ("erasure.title", "erasure.intro"),
}

# Everything a page loads comes from this origin: no CDN, no inline script or style.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


@cache
def dictionary() -> dict[str, dict[str, str]]:
    """The page texts in zh and en (one file, read by the server and by the scripts)."""
    path = Path(__file__).resolve().parents[2] / "static" / "h5" / "i18n.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _t(key: str) -> str:
    """A page text in Chinese (the key itself when the dictionary lacks it)."""
    return dictionary()["zh"].get(key, key)


def _render(template: str, page: str, heading: str, intro: str | None = None) -> str:
    return render_template(template, page=page, pages=RESIDENT_PAGES, heading=heading,
                           intro=intro, t=_t, demo=is_development(current_app.config))


@blp.get("/")
@blp.get("/h5/")
def home() -> str:
    """The resident's home: score and trend, benefits usable now, what needs action, and every
    section. Signed out (no session in this tab), its script opens the sign-in page."""
    return _render("h5/page.html", "home", "home.title")


@blp.get("/h5/login")
def login() -> str:
    """Sign-in: the demo login in development mode; otherwise, open from the mini-program."""
    return _render("h5/login.html", "login", "login.title", "login.intro")


@blp.get("/h5/<page>")
def resident(page: str) -> str:
    """One of the resident's pages (`RESIDENT_PAGES`); 404 for any other name."""
    if page not in RESIDENT_PAGES:
        abort(404)
    return _render("h5/page.html", page, *RESIDENT_PAGES[page])


@blp.get("/counter/")
def counter() -> str:
    """The hospital cashier's page: check a code, hold credit, settle the bill."""
    return _render("counter/index.html", "counter", "counter.title", "counter.privacy")


@blp.after_request
def _headers(response: Response) -> Response:
    """A strict CSP on every page; the camera only where the counter scans codes."""
    response.headers["Content-Security-Policy"] = CSP
    camera = "(self)" if request.path.startswith("/counter") else "()"
    response.headers["Permissions-Policy"] = f"camera={camera}, microphone=(), geolocation=()"
    return response
