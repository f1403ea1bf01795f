"""Request plumbing: request ids, content-type checks, security headers."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request
from werkzeug.exceptions import UnsupportedMediaType

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _begin() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    if request.method in _BODY_METHODS and (request.content_length or 0) > 0:
        if request.mimetype not in ("application/json", "application/merge-patch+json"):
            raise UnsupportedMediaType("Send the request body as application/json")


def _finish(response: Response) -> Response:
    response.headers["X-Request-Id"] = getattr(g, "request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith(("/static/", "/.well-known/", "/docs", "/openapi.json")):
        # Personal data must never be cached by a browser or an intermediary.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
