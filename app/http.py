"""Request plumbing: request ids, content-type and NUL checks, security headers."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Request, Response, g, request
from werkzeug.exceptions import UnsupportedMediaType

from app.errors import problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is six characters).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00")
BASELINE_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"


def _begin() -> Response | None:
    req = request._get_current_object()  # type: ignore[attr-defined] # once, not per access
    incoming = req.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    has_body = req.method in _BODY_METHODS and (req.content_length or 0) > 0
    if has_body and req.mimetype not in ("application/json", "application/merge-patch+json"):
        raise UnsupportedMediaType("Send the request body as application/json")
    if _has_nul(req, has_body):
        return problem(422, "validation_failed", "Text must not contain NUL (U+0000) characters",
                       detail_zh="请求内容含有非法字符")
    return None


def _has_nul(req: Request, has_body: bool) -> bool:
    """NUL in the path, query or JSON body: PostgreSQL text cannot store it, so it
    is refused up front instead of failing deep inside a handler."""
    if "\x00" in req.path or (req.query_string and any(
            "\x00" in k or "\x00" in v for k, v in req.args.items(multi=True))):
        return True
    return has_body and bool(_JSON_NUL.search(req.get_data(cache=True)))


def _finish(response: Response) -> Response:
    headers, path = response.headers, request.path
    headers["X-Request-Id"] = getattr(g, "request_id", "")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        # Pages set their own strict policy; any other HTML (the API docs) gets this floor.
        headers.setdefault("Content-Security-Policy", BASELINE_CSP)
    if not path.startswith(("/static/", "/.well-known/", "/docs", "/openapi.json")):
        # Personal data must never be cached by a browser or an intermediary.
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
