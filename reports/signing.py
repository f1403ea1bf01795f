"""Canonical JSON and the report signature (compact JWS, EdDSA, the `report` key purpose).

The signed bytes are exactly the canonical JSON of the report: keys sorted, no whitespace,
UTF-8 (not ASCII-escaped). A verifier who recomputes the canonical JSON of the payload gets the
same bytes, so the JWS can be checked with any JOSE library against `/.well-known/report-keys.json`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidTokenError
from sqlalchemy.orm import Session

from core.canonical import canonical
from core.signing import Signer

PURPOSE = "report"
TYP = "pc-report+jws"
_JWS = PyJWS(algorithms=["EdDSA"], options={"verify_signature": True})
MAX_JWS = 256 * 1024


class BadSignature(Exception):
    """The JWS is malformed, names an unknown or unpublished key, or its signature fails."""


def sign(signer: Signer, session: Session, payload: dict[str, Any], *, typ: str = TYP
         ) -> tuple[str, str]:
    """(compact JWS over the canonical JSON of `payload`, kid) with the active report key;
    `typ` names the kind of document (settlement statements are signed here too)."""
    kid, private = signer.active(session, PURPOSE)
    token = _JWS.encode(canonical(payload), private, algorithm="EdDSA",
                        headers={"kid": kid, "typ": typ, "cty": "json"})
    return token, kid


def open_signed(signer: Signer, session: Session, token: str, now: datetime
                ) -> tuple[dict[str, Any], bytes, str]:
    """(payload, signed bytes, kid) of a JWS we signed with a published report key."""
    if not isinstance(token, str) or len(token) > MAX_JWS or token.count(".") != 2:
        raise BadSignature("not a compact JWS")
    try:
        header = _JWS.get_unverified_header(token)
    except InvalidTokenError as exc:
        raise BadSignature("unreadable JWS header") from exc
    kid = header.get("kid")
    if header.get("alg") != "EdDSA" or not isinstance(kid, str) or len(kid) > 40:
        raise BadSignature("not an EdDSA report signature")
    public = signer.public(session, kid, now, purpose=PURPOSE)
    if public is None:
        raise BadSignature("signed with a key that is not a published report key")
    try:
        raw = _JWS.decode(token, public, algorithms=["EdDSA"])
    except InvalidTokenError as exc:
        raise BadSignature("the signature does not match the document") from exc
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadSignature("the signed document is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadSignature("the signed document is not a JSON object")
    return payload, raw, kid
