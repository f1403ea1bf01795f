"""Security headers on every kind of response: API JSON, problem+json, CSV/PDF, HTML pages,
the API docs, static files.

Collected generically: every GET operation of /openapi.json with its caller's credential and
with none, every HTML page the app routes, every static file, and the framework's own errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.security.actors import operations, scheme_of
from tests.security.estate import Estate
from tests.security.openapi import path_params, request_for
from tests.support.factories import bearer

# Public, identical for everyone, and without personal data: these may be cached.
CACHEABLE = ("/static/", "/.well-known/", "/docs", "/openapi.json", "/api/v1/model")
STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def html_pages(app: Any) -> list[str]:
    """Every page the app routes outside the API (H5 pages, counter, docs, health, keys)."""
    from app.api.pages.routes import RESIDENT_PAGES

    out = [f"/h5/{page}" for page in RESIDENT_PAGES]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(
                ("/api/", "/partner/", "/admin/", "/ingest/")):
            out.append(rule.rule)
    return out


def responses(estate: Estate, document: dict) -> list[tuple[str, Any]]:
    client, out = estate.client, []
    for method, path, op in operations(document):
        if method != "GET" or set(path_params(op)) - set(estate.ids) - {"code", "notice_id"}:
            continue
        values = {**estate.ids, "code": "medical_credit"}
        kwargs = request_for(document, method, path, op, values)
        headers = estate.headers(method, path, scheme_of(op))
        out.append((f"GET {path}", client.open(headers=headers, **kwargs)))
        if scheme_of(op):
            out.append((f"GET {path} (no credential)", client.open(**kwargs)))
    out += [(page, client.get(page)) for page in html_pages(estate.app)]
    report = estate.ids["report_id"]
    out.append(("report html", client.get(f"/api/v1/me/reports/{report}/html",
                                          headers=bearer(estate.resident))))
    for file in (p for p in STATIC.rglob("*") if p.is_file()):
        response = client.get(f"/static/{file.relative_to(STATIC)}")
        response.close()  # a file response holds the file open until closed
        out.append((f"/static/{file.relative_to(STATIC)}", response))
    out += [("404", client.get("/no/such/thing")),
            ("405", client.delete("/api/v1/notices")),
            ("415", client.post("/api/v1/me/tokens", data="x=1",
                                content_type="application/x-www-form-urlencoded",
                                headers=bearer(estate.resident))),
            ("malformed json", client.post("/api/v1/me/tokens", data="{", headers={
                **bearer(estate.resident), "Content-Type": "application/json"}))]
    return out


def test_every_response_carries_the_security_headers(estate: Estate, document: dict) -> None:
    seen = responses(estate, document)
    kinds = {r.mimetype for _what, r in seen}
    assert {"application/json", "application/problem+json", "text/html", "text/css",
            "text/javascript", "application/pdf"} <= kinds, kinds
    for what, response in seen:
        headers = response.headers
        assert headers.get("X-Content-Type-Options") == "nosniff", what
        assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), what
        csp = headers.get("Content-Security-Policy", "")
        assert headers.get("X-Frame-Options") == "DENY" or "frame-ancestors 'none'" in csp, what
        if response.mimetype == "text/html":
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp.replace(
                "default-src 'none'", "object-src 'none'"), (what, csp)
        path = what.split(" ")[1] if what.startswith("GET ") else what
        if not path.startswith(CACHEABLE):
            assert "no-store" in headers.get("Cache-Control", ""), (what, headers)


def test_pages_allow_no_inline_or_foreign_scripts(estate: Estate) -> None:
    for page in html_pages(estate.app):
        response = estate.client.get(page)
        if page.startswith("/docs") or response.mimetype != "text/html":
            continue  # the API docs load Swagger UI (its own script), see docs/security.md
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
        script = directives.get("script-src", directives.get("default-src", ""))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, (page, csp)
        assert "http" not in script and "*" not in script, (page, csp)


def test_no_operation_takes_personal_data_in_its_url(document: dict) -> None:
    """URLs end up in access logs and browser history: ID numbers, names and phones never."""
    personal = {"id_number", "name", "phone", "phone_number", "idcard", "id_card"}
    for method, path, op in operations(document):
        for param in op.get("parameters", []):
            if param.get("in") in ("query", "path"):
                assert param["name"].lower() not in personal, (method, path, param["name"])
