"""The door: a request's URL, text, JSON, size and dates are made safe before anything reads them.

`screen` runs first for every request (`app.http`). It answers with problem+json when

* the URL is longer than `MAX_URL_BYTES` (414 `uri_too_long`; gunicorn's own request-line
  limit is set above it, so the app answers first),
* a body is larger than `MAX_CONTENT_LENGTH`, whether declared or sent chunked (413), or is not
  JSON (415; RFC 7662 introspection, `FORM_PATHS`, also takes a form, whose fields are held
  to the same text rules),
* the body is not one JSON document this service reads: not UTF-8, a duplicate key, NaN,
  nesting deeper than `core.safe_text.MAX_DEPTH` (400 `malformed_json`),
* any string of the path, the query or the body breaks `core.safe_text`'s rules (NUL, a lone
  surrogate, a control character), or a number is out of range (422 `validation_failed`),
* an operation that documents a required body gets none (422),
* a date field of the operation (its documented schema says date or date-time) holds a date
  outside `core.dates`' supported years (422).

Handlers, schemas, the idempotency hash and PostgreSQL therefore only ever see text they can
store and dates they can compute with. The JSON document it parsed and passed is kept with the
request (`screened`): the argument parser (`app.api.common.Blueprint`) and the resident slots
(`app.slots`) read it instead of parsing the body again.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import marshmallow as ma
from flask import Request, Response, current_app
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from app.errors import problem
from core import dates, safe_text

MAX_URL_BYTES = 4096  # path and query; gunicorn.conf.py's limit_request_line is above it
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON_TYPES = ("application/json", "application/merge-patch+json")
# RFC 7662 clients send introspection requests as a form (`token=…`); only there is one read.
FORM = "application/x-www-form-urlencoded"
FORM_PATHS = frozenset({"/partner/v1/tokens/introspect"})
Path = tuple[str, ...]  # keys from the body's root; "*" is every item of a list
DOCUMENT = "pengcheng.json_body"  # the WSGI environ's key for the screened JSON document


def screened(req: Request) -> Any:
    """The request's JSON body as `screen` parsed and passed it; None when it has none."""
    return req.environ.get(DOCUMENT)


def screen(req: Request) -> Response | None:
    """None if the request may go on; otherwise the problem+json answer."""
    raw_path = req.environ.get("PATH_INFO", "")
    if len(raw_path) + len(req.query_string) > MAX_URL_BYTES:
        return problem(414, "uri_too_long",
                       f"The URL is longer than {MAX_URL_BYTES} bytes; send large input "
                       f"in a JSON body", detail_zh="请求地址过长")
    found = _url_problems(req)
    body, document = _body(req), None
    if body is not None and req.mimetype == FORM:
        found += _pairs_problems(req.form.items(multi=True), "(form)")
    elif body is not None:
        try:
            document = safe_text.loads(body)
            found += safe_text.problems(document)
            req.environ[DOCUMENT] = document  # read only if nothing was found
        except safe_text.MalformedJson as exc:
            return problem(400, "malformed_json", f"The request body is not valid JSON: {exc}",
                           detail_zh="请求内容不是有效的 JSON")
    if found:
        return invalid(found)
    rules = _rules(req)
    if rules is None:
        return None
    required, date_fields = rules
    if required and body is None:
        return invalid([("(body)", "this operation requires a JSON body")])
    found = [(where, dates.RANGE_TEXT) for where, value in _date_values(req, date_fields, document)
             if dates.out_of_range(value)]
    return invalid(found) if found else None


def invalid(found: list[tuple[str, str]]) -> Response:
    """422 `validation_failed`, naming each field and why, as schema errors are answered."""
    fields: dict[str, list[str]] = {}
    for where, why in found:
        fields.setdefault(where, []).append(why)
    errors = [{"field": f, "messages": m} for f, m in fields.items()]
    return problem(422, "validation_failed", f"Invalid fields: {', '.join(fields)}",
                   errors=errors, detail_zh="请求字段有误")


def _url_problems(req: Request) -> list[tuple[str, str]]:
    found = []
    why = safe_text.text_problem(req.path)
    if why:
        found.append(("(path)", why))
    return found + _pairs_problems(req.args.items(multi=True), "(query)")


def _pairs_problems(pairs: Any, where: str) -> list[tuple[str, str]]:
    """Query or form fields whose name or value breaks `core.safe_text`'s rules."""
    found = []
    for key, value in pairs:
        why = safe_text.text_problem(key)
        if why:
            found.append((where, f"a parameter name: {why}"))
        elif why := safe_text.text_problem(value):
            found.append((key, why))
    return found


def _body(req: Request) -> bytes | None:
    """The body's bytes (None: no body). Reading it enforces MAX_CONTENT_LENGTH on a declared
    length and on a chunked stream alike (werkzeug raises 413)."""
    if req.method not in BODY_METHODS:
        return None
    chunked = "chunked" in req.headers.get("Transfer-Encoding", "").lower()
    if not chunked and not req.content_length:
        return None
    if req.mimetype not in JSON_TYPES and not (req.mimetype == FORM and req.path in FORM_PATHS):
        raise UnsupportedMediaType("Send the request body as application/json")
    try:
        data = req.get_data(cache=True)
    except HTTPException:
        raise  # 413, or werkzeug's ClientDisconnected (400)
    except Exception as exc:  # the server's own reader: broken chunk framing
        raise BadRequest("The request body could not be read (its chunked framing is "
                         "broken)") from exc
    limit = req.max_content_length
    if chunked and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()  # werkzeug stops reading a stream at the limit, silently
    return data or None


def _rules(req: Request) -> tuple[bool, tuple[tuple[str, Path], ...]] | None:
    """(body required, date fields) of the operation the request is routed to, if it has one."""
    if req.url_rule is None or req.endpoint is None:
        return None
    view = current_app.view_functions.get(req.endpoint)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, req.method.lower(), None) if view_class else view
    return _rules_of(handler) if handler is not None else None


@cache
def _rules_of(handler: Any) -> tuple[bool, tuple[tuple[str, Path], ...]]:
    """From the argument schemas flask-smorest documents for a view (`@blp.arguments`)."""
    required, fields = False, []
    parameters = getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    for parameter in parameters:
        schema = parameter["schema"]
        schema = schema() if isinstance(schema, type) else schema
        location = parameter["in"]
        required |= location == "json" and bool(parameter.get("required"))
        fields += [(location, path) for path in _date_paths(schema)]
    return required, tuple(fields)


def _date_paths(schema: ma.Schema, prefix: Path = ()) -> Iterator[Path]:
    for name, field in schema.fields.items():
        yield from _field_paths(field, (*prefix, field.data_key or name))


def _field_paths(field: ma.fields.Field, path: Path) -> Iterator[Path]:
    if isinstance(field, ma.fields.DateTime | ma.fields.Date):
        yield path
    elif isinstance(field, ma.fields.Nested) and isinstance(field.schema, ma.Schema):
        yield from _date_paths(field.schema, (*path, "*") if field.many else path)
    elif isinstance(field, ma.fields.List):
        yield from _field_paths(field.inner, (*path, "*"))


def _date_values(req: Request, fields: tuple[tuple[str, Path], ...],
                 document: Any) -> Iterator[tuple[str, Any]]:
    for location, path in fields:
        if location == "query":
            for value in req.args.getlist(path[0]):
                yield path[0], value
        elif location == "json":
            yield from _at(document, path, "")


def _at(value: Any, path: Path, where: str) -> Iterator[tuple[str, Any]]:
    if not path:
        yield where, value
    elif path[0] == "*" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _at(item, path[1:], f"{where}.{i}" if where else str(i))
    elif isinstance(value, dict) and path[0] in value:
        key = path[0]
        yield from _at(value[key], path[1:], f"{where}.{key}" if where else key)
