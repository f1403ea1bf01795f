"""Every hash and signature made before `core.canonical` existed is reproduced by it.

The fixtures (`tests/fixtures/canonical/fixtures.json`) were written by the six per-module
functions it replaced, before any call site changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent import notices
from core import audit, idempotency
from core.canonical import COMPACT, SPACED_ASCII, canonical
from reports import signing
from rewards import scenarios
from scoring import spec

FIXTURES = json.loads((Path(__file__).parents[1] / "fixtures" / "canonical" / "fixtures.json")
                      .read_text(encoding="utf-8"))
MAKERS = {"$datetime": dt.datetime.fromisoformat, "$decimal": Decimal, "$uuid": uuid.UUID}


def untyped(value: Any) -> Any:
    """The fixture's {"$type": text} markers back into the values they stand for."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in MAKERS:
            (key, text), = value.items()
            return MAKERS[key](text)
        return {k: untyped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untyped(v) for v in value]
    return value


def cases(area: str) -> list[Any]:
    return [pytest.param(case, id=f"{area}-{i}") for i, case in enumerate(FIXTURES[area])
            if "object" in case]


@pytest.mark.parametrize("case", cases("notices"))
def test_notice_hashes_are_unchanged(case: dict[str, Any]) -> None:
    assert notices.canonical(case["object"]) == case["bytes"].encode()
    assert canonical(case["object"]) == case["bytes"].encode()
    assert hashlib.sha256(canonical(case["object"])).hexdigest() == case["hash"]


def test_seeded_notice_hashes_are_unchanged() -> None:
    from consent.catalogue import seed_notices

    stored = {c["hash"] for c in FIXTURES["notices"]}
    assert {notices.notice_hash(n) for n in seed_notices()} <= stored


@pytest.mark.parametrize("case", [c for c in FIXTURES["audit"] if "entry" in c])
def test_audit_entry_hashes_are_unchanged(case: dict[str, Any]) -> None:
    e = case["entry"]
    at = dt.datetime.fromisoformat(e["at"])
    assert audit._hash(FIXTURES["audit_prev_hash"], e["seq"], at, e["actor"], e["action"],
                       e["subject"], e["data"]) == case["entry_hash"]
    assert canonical(e) == case["bytes"].encode()


@pytest.mark.parametrize("case", cases("audit"))
def test_audit_bytes_are_unchanged(case: dict[str, Any]) -> None:
    assert audit.canonical(case["object"]) == case["bytes"].encode()


@pytest.mark.parametrize("case", cases("reports"))
def test_report_signatures_are_unchanged(case: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(FIXTURES["ed25519_seed_hex"]))
    data = signing.canonical(case["object"])
    assert data == case["bytes"].encode()
    token = jwt.PyJWS().encode(data, key, algorithm="EdDSA",
                               headers={"kid": "report-test", "typ": signing.TYP, "cty": "json"})
    assert token == case["jws"]
    assert jwt.PyJWS().decode(case["jws"], key.public_key(), algorithms=["EdDSA"]) == data


@pytest.mark.parametrize("case", cases("spec"))
def test_model_spec_hashes_are_unchanged(case: dict[str, Any]) -> None:
    assert spec.canonical_json(case["object"]) == case["text"]
    assert spec.spec_hash(case["object"]) == case["hash"]


@pytest.mark.parametrize("case", cases("idempotency"))
def test_idempotency_body_hashes_are_unchanged(case: dict[str, Any]) -> None:
    assert idempotency.body_hash(untyped(case["object"])) == case["hash"]


@pytest.mark.parametrize("case", cases("scenarios"))
def test_scenario_digests_are_unchanged(case: dict[str, Any]) -> None:
    assert scenarios._digest(case["object"]) == case["hash"]
    assert hashlib.sha256(canonical(case["object"], form=SPACED_ASCII)).hexdigest() == case["hash"]


def test_the_compact_form_is_what_anyone_recomputes_with_the_standard_library() -> None:
    obj = {"b": [1, 2.5, None], "a": "鹏城 🙂", "c": {"é": True}}
    expected = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical(obj) == canonical(obj, form=COMPACT) == expected.encode("utf-8")
    assert canonical(obj) == '{"a":"鹏城 🙂","b":[1,2.5,null],"c":{"é":true}}'.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(value: float) -> None:
    with pytest.raises(ValueError):
        canonical({"x": value})
    with pytest.raises(ValueError):
        canonical([value], form=SPACED_ASCII)


def test_unknown_types_need_a_default() -> None:
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(TypeError):
        canonical({"at": at})
    assert canonical({"at": at}, default=str) == b'{"at":"2026-01-02 00:00:00+00:00"}'


def test_a_lone_surrogate_is_hashed_not_raised() -> None:
    assert canonical("\ud800") == b'"\xed\xa0\x80"'


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical({}, form="pretty")  # type: ignore[arg-type]
