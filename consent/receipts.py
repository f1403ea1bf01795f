"""Consent receipts: a compact JWS (EdDSA, the `receipt` key) over an ISO/IEC TS 27560 /
Kantara Consent Receipt v1.1-shaped JSON.

The claims carry both the Kantara structure (`piiControllers`, `services[].purposes[]`,
`piiPrincipalId`, `consentReceiptID`, …) and flat fields that are easy to read (`controller`,
`purpose`, `categories`, `recipients`, `notice`, `event`, `time`, `consent_id`, `subject`).
The subject is the resident's internal id (an opaque UUID): no name, ID number or phone.
Verification accepts any key ever issued for the `receipt` purpose, retired or not: a receipt
is evidence for years, far longer than a key signs.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.catalogue import CONTROLLER, JURISDICTION
from consent.models import ConsentEvent, ConsentRecord, Notice
from core.signing import Signer, SigningKey

TYP = "pc-consent-receipt+jwt"
VERSION = "KI-CR-v1.1.0"


def claims(*, issuer: str, record: ConsentRecord, notice: Notice, event: ConsentEvent
           ) -> dict[str, Any]:
    """The receipt body for one consent event."""
    at = int(event.at.timestamp())
    sensitive = notice.requires_separate_consent or bool(
        set(record.categories) & set(notice.separate_consent_categories))
    return {
        "iss": issuer,
        "iat": at,
        "jti": str(event.id),
        # flat, readable fields
        "consent_id": str(record.id),
        "event": event.event,
        "time": event.at.isoformat(),
        "subject": str(record.resident_id),
        "controller": CONTROLLER["name_en"],
        "purpose": record.purpose,
        "categories": list(record.categories),
        "recipients": [r.get("name_en", r.get("kind")) for r in notice.recipients],
        "notice": {"id": str(notice.id), "version": notice.version, "hash": notice.hash,
                   "language": event.language},
        "jurisdiction": JURISDICTION,
        "status": record.status,
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        # Kantara Consent Receipt v1.1 / ISO/IEC TS 27560 shape
        "version": VERSION,
        "consentReceiptID": str(event.id),
        "consentTimestamp": at,
        "collectionMethod": event.channel,
        "language": event.language,
        "piiPrincipalId": str(record.resident_id),
        "piiControllers": [{"piiController": CONTROLLER["name_en"],
                            "piiController_zh": CONTROLLER["name_zh"],
                            "contact": CONTROLLER["contact"], "url": CONTROLLER["url"],
                            "onBehalf": False}],
        "policyUrl": CONTROLLER["url"],
        "services": [{
            "service": record.purpose,
            "purposes": [{
                "purpose": notice.title_en,
                "purpose_zh": notice.title_zh,
                "consentType": "EXPLICIT",
                "purposeCategory": [record.purpose],
                "piiCategory": list(record.categories),
                "primaryPurpose": True,
                "termination": notice.retention,
                "thirdPartyDisclosure": bool(notice.recipients),
                "thirdPartyName": [r.get("name_en", r.get("kind")) for r in notice.recipients],
            }],
        }],
        "sensitive": sensitive,
        "spiCat": sorted(set(record.categories) & set(notice.separate_consent_categories)),
    }


def sign(session: Session, signer: Signer, body: dict[str, Any]) -> str:
    return signer.sign(session, "receipt", body, typ=TYP)


def verify(session: Session, token: str) -> dict[str, Any]:
    """Check a receipt's signature and whether it matches a stored consent event.

    Returns {valid, reason?, kid?, claims?, recorded}. Never raises on bad input.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return {"valid": False, "reason": "malformed", "recorded": False}
    kid = str(header.get("kid", ""))
    key = session.get(SigningKey, kid) if kid else None
    if key is None or key.purpose != "receipt":
        return {"valid": False, "reason": "unknown_key", "kid": kid, "recorded": False}
    if header.get("typ") != TYP:
        return {"valid": False, "reason": "not_a_receipt", "kid": kid, "recorded": False}
    try:
        body = jwt.decode(token, Ed25519PublicKey.from_public_bytes(key.public_raw),
                          algorithms=["EdDSA"], options={"verify_exp": False})
    except jwt.PyJWTError:
        return {"valid": False, "reason": "bad_signature", "kid": kid, "recorded": False}
    recorded = False
    try:
        event_id = uuid.UUID(str(body.get("jti")))
    except ValueError:
        event_id = None
    if event_id is not None:
        stored = session.scalar(select(ConsentEvent.receipt).where(ConsentEvent.id == event_id))
        recorded = stored == token
    return {"valid": True, "kid": kid, "claims": body, "recorded": recorded}
