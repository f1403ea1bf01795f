"""Every JSON answer is written by orjson (`app.http.Answers`): the document must be the one
Flask's own writer gives, key order included, for anything a handler answers — and what orjson
refuses is answered (or refused) exactly as Flask does."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from hypothesis import given
from hypothesis import strategies as st

from app.http import Answers, App

_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64 - 1)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(st.characters(exclude_categories=["Cs"]))  # no lone surrogate
            | st.datetimes(timezones=st.just(UTC)) | st.dates() | st.uuids())
DOCUMENTS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@dataclass
class _Row:
    code: str
    at: datetime


def _apps() -> tuple[Flask, Flask]:
    ours, flasks = App("answers"), Flask("flask")
    assert isinstance(ours.json, Answers) and type(flasks.json) is DefaultJSONProvider
    return ours, flasks


def _pairs(body: bytes) -> Any:
    """The document with each object's keys in their written order."""
    return json.loads(body, object_pairs_hook=lambda pairs: ("object", pairs))


def _both(document: Any) -> tuple[bytes, bytes]:
    """The answer's body as our app writes it, and as Flask's own writer does."""
    ours, flasks = _apps()
    with ours.app_context():
        mine = ours.json.response(document)
    with flasks.app_context():
        theirs = flasks.json.response(document)
    assert mine.mimetype == theirs.mimetype == "application/json"
    return _body(mine), _body(theirs)


def _body(response: Any) -> bytes:
    data: bytes = response.get_data()
    return data


@given(DOCUMENTS)
def test_the_document_and_its_key_order_are_flasks(document: Any) -> None:
    mine, theirs = _both(document)
    assert _pairs(mine) == _pairs(theirs)
    assert mine.endswith(b"\n") and b"\n" not in mine[:-1]  # compact, one final newline


def test_dates_and_dataclasses_are_written_as_flask_writes_them() -> None:
    at = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    document = {"at": at, "day": date(2026, 12, 7), "row": _Row("a", at),
                "id": uuid.UUID(int=7), "rows": [_Row("b", at)]}
    mine, theirs = _both(document)
    assert json.loads(mine) == json.loads(theirs)
    assert json.loads(mine)["at"] == "Mon, 07 Dec 2026 08:30:00 GMT"


def test_chinese_is_written_as_utf8_not_escaped() -> None:
    mine, theirs = _both({"tier_name": "信用极好"})
    assert "信用极好".encode() in mine and b"\\u" in theirs
    assert json.loads(mine) == json.loads(theirs)


@pytest.mark.parametrize("document", [
    {"big": 2**70},                  # beyond 64 bits: orjson refuses, Flask writes it
    {"text": "\ud800"},              # a lone surrogate: Flask escapes it
])
def test_what_orjson_refuses_flask_answers(document: Any) -> None:
    mine, theirs = _both(document)
    assert mine == theirs


def test_a_nan_is_written_as_null_not_as_invalid_json() -> None:
    """No answer holds one (numbers are finite at the door and in the model); were one to slip
    through, the client gets JSON it can parse, where Flask wrote `NaN`."""
    mine, theirs = _both({"x": float("nan")})
    assert mine == b'{"x":null}\n' and theirs == b'{"x":NaN}\n'


def test_what_flask_refuses_is_still_refused() -> None:
    ours, _ = _apps()
    with ours.app_context(), pytest.raises(TypeError):
        ours.json.response({1: "a", "b": 2})  # keys of two types cannot be sorted
    with ours.app_context(), pytest.raises(TypeError):
        ours.json.response({"x": object()})
