"""Every error leaves as problem+json (RFC 9457) with a stable `code`: mapped here, only here."""

from __future__ import annotations

import logging
from typing import Any, cast

import marshmallow as ma
from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from core.crypto import CryptoError
from core.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    431: "header_too_large",
    503: "service_unavailable",
}


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "Dotted path of the offending field"})
    messages = ma.fields.List(ma.fields.String())


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details with a stable machine `code`."""

    class Meta:
        # RFC 9457 extension members (`field`, `redemption_id`, …) are part of the contract.
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"example": "about:blank"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Stable machine-readable code"})
    detail = ma.fields.String(metadata={"description": "Human-readable explanation (English)"})
    detail_zh = ma.fields.String(metadata={"description": "说明 (Chinese), where residents see it"})
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    request_id = ma.fields.String()


def problem(status: int, code: str, detail: str, *, title: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTP_CODES.get(status, "error").replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    body["request_id"] = getattr(g, "request_id", None)
    # Written as every JSON answer is (`app.http.Answers`): UTF-8, so a `detail_zh` reads as
    # Chinese in a partner's log, not as `\u` escapes; whatever orjson refuses (a lone
    # surrogate echoed from hostile input) is written by Flask's escaping writer instead.
    response = cast(Response, current_app.json.response(body))  # the app's response_class
    response.status_code, response.mimetype = status, PROBLEM
    if status == 401:
        response.headers["WWW-Authenticate"] = challenge()
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


REALM = "pengcheng"


def challenge() -> str:
    """RFC 6750 §3 for a 401: no `error` when no credential came (§3.1), `invalid_request`
    for a malformed `Authorization` header, `invalid_token` for a credential we do not accept
    (unknown, expired, revoked)."""
    header = request.headers.get("Authorization", "") if has_request_context() else ""
    if not header.strip():
        return f'Bearer realm="{REALM}"'
    scheme, _, value = header.strip().partition(" ")
    error = "invalid_token" if scheme.lower() == "bearer" and value.strip() else "invalid_request"
    return f'Bearer realm="{REALM}", error="{error}"'


LOCATIONS = ("json", "query", "view_args", "headers", "form", "files")


def _flatten(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """webargs' nested {location: {field: [msg]}} -> [{field, messages}]."""
    out: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in LOCATIONS:
                path = ""
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.append({"field": prefix or "(body)", "messages": messages})
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.extend(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out.append({"field": prefix or "(body)", "messages": [str(messages)]})
    return out


def handle_http(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if status == 400 and messages == {"json": ["Invalid JSON body."]}:
        return problem(400, "malformed_json", "The request body is not valid JSON",
                       detail_zh="请求内容不是有效的 JSON")
    if status == 422 and messages:
        fields = _flatten(messages)
        names = ", ".join(f["field"] for f in fields)
        return problem(422, "validation_failed", f"Invalid fields: {names}", errors=fields,
                       detail_zh="请求字段有误")
    headers = {}
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    detail = error.description or error.name
    if status == 413:
        detail = "The request body is larger than this endpoint accepts"
    return problem(status, HTTP_CODES.get(status, f"http_{status}"), detail, headers=headers)


def handle_domain(error: DomainError) -> Response:
    headers = {}
    retry = error.extra.get("retry_after")
    if retry:
        headers["Retry-After"] = str(retry)
    extra = {k: v for k, v in error.extra.items() if k != "retry_after"}
    return problem(error.status, error.code, error.detail, title=error.title,
                   detail_zh=error.detail_zh, headers=headers, **extra)


# A wait that ran out (core.db.Timeouts): lock_not_available (lock_timeout), query_canceled
# (statement_timeout). Retrying soon is right: the lock or the load is usually gone.
BUSY_SQLSTATES = ("55P03", "57014")


def database_busy() -> Response:
    return problem(503, "database_busy",
                   "The data this request needs is busy; retry shortly",
                   detail_zh="数据正忙，请稍后重试", headers={"Retry-After": "1"})


def handle_pool_timeout(error: PoolTimeout) -> Response:
    log.warning("database pool exhausted: %s", error)
    return database_busy()


def handle_database(error: Exception) -> Response:
    if getattr(getattr(error, "orig", None), "sqlstate", None) in BUSY_SQLSTATES:
        log.warning("database busy: %s", getattr(error.orig, "sqlstate", ""))  # type: ignore
        return database_busy()
    if isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        log.warning("database unavailable: %s", error.__class__.__name__)
        return problem(503, "database_unavailable",
                       "The service is briefly unavailable; retry shortly",
                       detail_zh="服务暂时不可用，请稍后重试", headers={"Retry-After": "2"})
    return handle_unexpected(error)


def handle_crypto(error: CryptoError) -> Response:
    log.error("crypto failure: %s", error)
    return problem(500, "data_unreadable", "A stored value could not be decrypted")


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http(error)
    log.exception("unhandled error")
    return problem(500, "internal_error", "An unexpected error occurred; it has been logged",
                   detail_zh="服务出现意外错误，已记录")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(DBAPIError, handle_database)
    app.register_error_handler(PoolTimeout, handle_pool_timeout)
    app.register_error_handler(CryptoError, handle_crypto)
    app.register_error_handler(Exception, handle_unexpected)
