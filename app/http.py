"""Request plumbing: the app's class (`App`), request ids, the input screen
(`app.safe_input`), security headers, and Swagger UI's files for `/docs` (from the
swagger-ui-bundle package: no CDN, works offline)."""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable
from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, g, request, send_from_directory

from app import safe_input


class App(Flask):
    """Flask, deciding once per function whether it must be run as a coroutine.

    Flask asks `ensure_sync` for every hook and view of every request (about ten per request),
    and each answer inspects the function's code flags again. The answer never changes for a
    function, so it is remembered per function (a bound method's by its `__func__`: a method
    view is bound anew per request). Only plain functions are remembered, so the table is
    bounded by the code, not by the requests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine: dict[Callable[..., Any], bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        target = getattr(func, "__func__", func)
        known = self._coroutine.get(target)
        if known is None:
            known = inspect.iscoroutinefunction(target)
            if inspect.isfunction(target):
                self._coroutine[target] = known
        return self.async_to_sync(func) if known else func


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
BASELINE_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"


def _begin() -> Response | None:
    req = request._get_current_object()  # type: ignore[attr-defined] # once, not per access
    incoming = req.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return safe_input.screen(req)


def _finish(response: Response) -> Response:
    headers, path = response.headers, request.path
    headers["X-Request-Id"] = getattr(g, "request_id", "")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        # Pages set their own strict policy; any other HTML (the API docs) gets this floor.
        headers.setdefault("Content-Security-Policy", BASELINE_CSP)
    if not path.startswith(("/static/", "/.well-known/", "/docs", "/openapi.json",
                            "/api/v1/model")):  # the public model card and spec
        # Personal data must never be cached by a browser or an intermediary.
        headers["Cache-Control"] = "no-store"
    return response


def _docs_asset(filename: str) -> Response:
    """A file of the Swagger UI distribution the package bundles (`OPENAPI_SWAGGER_UI_URL`)."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", _docs_asset)
