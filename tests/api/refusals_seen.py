"""Every problem answer a test sees must be one its operation's OpenAPI entry lists.

`every_refusal_is_documented` (autouse in tests/api; any other tier with
`-p tests.api.refusals_seen`) records each 4xx/503 problem+json answer given while a test runs —
the operation (method and path template), status and `code` — and fails the test at teardown
when `/openapi.json` does not list that code under that status for that operation. The
operations' entries come from `app.refusals`; this is how the registry is kept complete: an
operation that answers a code its entry does not name fails the test that made it answer.

With PENGCHENG_REFUSALS_SEEN=<file> the answers seen are also appended there (JSON lines), to
see which documented codes the suite reaches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from flask import Flask, Response, request, request_finished

from app.errors import PROBLEM
from app.openapi_errors import documented_codes

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class Answer(NamedTuple):
    method: str
    path: str  # as the OpenAPI document writes it: /x/{id}
    status: int
    code: str


def openapi_path(rule: str) -> str:
    """werkzeug's `/a/<uuid:id>` as OpenAPI's `/a/{id}`."""
    return _CONVERTER.sub(r"{\1}", rule)


def must_be_documented(answer: Answer) -> bool:
    """4xx and 503 are named per operation; other 5xx fall under `default` (never planned)."""
    return 400 <= answer.status < 500 or answer.status == 503


def undocumented(seen: list[Answer], spec: dict[str, Any]) -> list[Answer]:
    """The answers of `seen` whose code the OpenAPI document does not list for them (routes
    that are not API operations, such as the H5 pages and /docs, are not in it)."""
    listed = documented_codes(spec)
    operations = {(method, path) for method, path, _status in listed}
    return [a for a in seen if must_be_documented(a) and (a.method, a.path) in operations
            and a.code not in listed.get((a.method, a.path, a.status), set())]


def _answer(response: Response) -> Answer | None:
    rule = request.url_rule
    if rule is None or response.status_code < 400 or response.mimetype != PROBLEM:
        return None  # no operation was routed to (werkzeug's 404/405), or not a refusal
    if request.method in ("HEAD", "OPTIONS"):
        return None
    code = (response.get_json(silent=True) or {}).get("code", "")
    return Answer(request.method, openapi_path(rule.rule), response.status_code, code)


@pytest.fixture(autouse=True)
def every_refusal_is_documented() -> Iterator[list[Answer]]:
    seen: dict[int, tuple[Flask, list[Answer]]] = {}

    def record(sender: Flask, response: Response, **_extra: Any) -> None:
        answer = _answer(response)
        if answer is not None:
            seen.setdefault(id(sender), (sender, []))[1].append(answer)

    request_finished.connect(record)
    try:
        yield [a for _app, answers in seen.values() for a in answers]
    finally:
        request_finished.disconnect(record)
    missing: list[Answer] = []
    for app, answers in seen.values():
        spec = app.test_client().get(app.config["OPENAPI_URL_PREFIX"].rstrip("/") + "/"
                                     + app.config["OPENAPI_JSON_PATH"]).get_json()
        missing += undocumented(answers, spec)
        _log(answers)
    assert not missing, ("answers /openapi.json does not list (add them to app/refusals.py):\n"
                         + "\n".join(f"  {a.method} {a.path} -> {a.status} {a.code}"
                                      for a in sorted(set(missing))))


def _log(answers: list[Answer]) -> None:
    target = os.environ.get("PENGCHENG_REFUSALS_SEEN")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(a._asdict()) + "\n" for a in answers)
