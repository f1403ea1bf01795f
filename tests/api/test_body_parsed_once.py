"""A request's JSON body is parsed once, by the input screen (`app.safe_input`); the argument
parser (`app.api.common.ScreenedParser`) and the resident slots (`app.slots`) take its document
(issue 26: the body was parsed three times on every partner write)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest
import webargs.core

from app.api.common import ScreenedParser
from app.safe_input import DOCUMENT
from core import safe_text


class _Body(ma.Schema):
    assertion = ma.fields.String()


def test_the_argument_parser_reads_the_screened_document(app: Any) -> None:
    with app.test_request_context("/x", method="POST", data=b'{"assertion": "as sent"}',
                                  content_type="application/json") as ctx:
        ctx.request.environ[DOCUMENT] = {"assertion": "as screened"}
        assert ScreenedParser().parse(_Body(), ctx.request, location="json") == {
            "assertion": "as screened"}


def test_without_a_screened_document_it_parses_the_body(app: Any) -> None:
    with app.test_request_context("/x", method="POST", data=b'{"assertion": "as sent"}',
                                  content_type="application/json") as ctx:
        assert ScreenedParser().parse(_Body(), ctx.request, location="json") == {
            "assertion": "as sent"}


def test_a_partner_write_parses_its_body_once(client: Any, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    parsed: list[bytes] = []
    screen_loads = safe_text.loads

    def counted(data: Any) -> Any:
        parsed.append(data)
        return screen_loads(data)

    def webargs_parse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("webargs parsed the body again")

    monkeypatch.setattr(safe_text, "loads", counted)
    monkeypatch.setattr(webargs.core, "parse_json", webargs_parse)
    body = b'{"token": "not.a.token", "out_request_no": "n-1", "amount_fen": 100}'
    answer = client.post("/partner/v1/medical-credit/authorizations", data=body,
                         content_type="application/json",
                         headers={"Authorization": "Bearer unknown"})
    assert answer.status_code == 401  # the body was read; the key is refused
    assert parsed.count(body) == 1
