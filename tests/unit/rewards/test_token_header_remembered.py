"""A token header is parsed and screened once per key (`rewards.token_format._header`), and what
is remembered cannot be changed by a caller or stand in for a header that fails."""

from __future__ import annotations

import base64
import json

import pytest

from core import safe_text
from rewards import errors
from rewards.token_format import _header


def _segment(header: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")


def test_the_same_header_is_parsed_once_and_read_only() -> None:
    segment = _segment({"alg": "EdDSA", "typ": "pc-entitlement+jwt", "kid": "k-remembered"})
    first = _header(segment)
    assert _header(segment) is first and first["kid"] == "k-remembered"
    with pytest.raises(TypeError):
        first["kid"] = "other"  # type: ignore[index]


def test_a_header_that_fails_fails_every_time() -> None:
    segment = _segment({"alg": "EdDSA", "kid": "k\u0000nul"})
    for _ in range(2):
        with pytest.raises((safe_text.MalformedJson, errors.TokenMalformed)):
            _header(segment)
