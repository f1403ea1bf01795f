"""The partner token's format, and the checks that need no database.

A token is a compact JWS, `alg: EdDSA`, header `typ: pc-entitlement+jwt` and a `kid` published in
the JWKS; its claims are `iss aud sub scn ent iat exp jti` (`Claims`). `authentic` checks the
shape, the header, the key and the signature and types the claims, answering one named reason
per failure; `check_time_and_audience` checks issuer, lifetime, times and audience. What needs
the database (subject, consent, single use) is decided by PostgreSQL (`pc_token_state`), called
by `rewards.tokens`.

`TokenContext` is what token code needs beyond a session (keys, our issuer name, the count of a
partner's wrong short codes): built once by `create_app` (`runtime().tokens`) and passed to every
token function as `ctx`.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core import safe_text
from core.crypto import Keyring
from core.signing import OnDemand, Signer
from rewards import errors
from rewards.scenarios import MAX_TOKEN_TTL

TYP = "pc-entitlement+jwt"
ALG = "EdDSA"
MAX_TOKEN_CHARS = 2048  # an issued token is ~450 characters
IAT_LEEWAY = 5  # seconds of clock skew tolerated between our own instances
SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")


class CodeMisses(Protocol):
    """A partner's wrong short codes, counted in a window shared by every process
    (`app.ratelimit.CodeMisses`): brute force is refused before a code is looked up."""

    def wait(self, partner_id: uuid.UUID) -> int:
        """0 if the partner may try a code now, else the seconds until it may."""

    def missed(self, partner_id: uuid.UUID) -> None:
        """Count one code that named no live token of the partner's."""


@dataclass(frozen=True)
class TokenContext:
    """What token code needs beyond a session: keys, our issuer name, the code-miss count."""

    signer: Signer
    keyring: Keyring
    issuer: str
    code_misses: CodeMisses

    def public_key(self, session: OnDemand, kid: str, now: datetime) -> Ed25519PublicKey | None:
        """The published `token` key named `kid`, or None. The signer caches keys briefly;
        `session()` is asked for only when it must read the key."""
        return self.signer.public(session, kid, now, purpose="token")


@dataclass(frozen=True)
class Claims:
    iss: str
    aud: str
    sub: str
    scn: str
    ent: dict[str, Any]
    iat: int
    exp: int
    jti: str
    resident_id: uuid.UUID | None = None  # resolved by consume/introspect, never in the token

    def public(self) -> dict[str, Any]:
        """The claims the token carries (`resident_id` is never one), `ent` a copy."""
        return {"iss": self.iss, "aud": self.aud, "sub": self.sub, "scn": self.scn,
                "ent": dict(self.ent), "iat": self.iat, "exp": self.exp, "jti": self.jti}


def _b64json(segment: str) -> Any:
    """A header or claims segment as JSON that `core.safe_text` accepts: a NUL in a `kid`, a
    lone surrogate or deep nesting is a malformed token, never a database or stack error."""
    try:
        document = safe_text.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        if safe_text.problems(document):
            raise safe_text.MalformedJson("a token segment carries text that is not allowed")
    except (ValueError, binascii.Error) as exc:
        raise errors.TokenMalformed("a token segment is not base64url JSON") from exc
    return document


@lru_cache(maxsize=64)
def _header(segment: str) -> Any:
    """`_b64json` of a header segment, remembered: every token a key signs has the same header
    (alg, typ, kid), so it is parsed and screened once per key, not once per request. Read-only
    (a mapping proxy); a segment that fails raises each time, and is not remembered."""
    header = _b64json(segment)
    return MappingProxyType(header) if isinstance(header, dict) else header


def authentic(session: OnDemand, ctx: TokenContext, token: Any, now: datetime) -> Claims:
    """Shape, header, key and signature checked; the claims typed. No time or audience yet.
    `session` is needed only to read a key the signer has not cached."""
    if not isinstance(token, str):
        raise errors.TokenMalformed("the token must be a string")
    if len(token) > MAX_TOKEN_CHARS:
        raise errors.TokenTooLarge(f"tokens are at most {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3 or not SEGMENT.match(parts[0]):
        raise errors.TokenMalformed("not a compact JWS (three base64url segments)")
    header = _header(parts[0])
    if not isinstance(header, MappingProxyType):
        raise errors.TokenMalformed("the JWS header is not an object")
    if header.get("alg") != ALG:  # before the signature: `none` has an empty one
        raise errors.TokenAlgorithmRefused(f"alg {header.get('alg')!r} is refused; only EdDSA")
    if not (SEGMENT.match(parts[1]) and SEGMENT.match(parts[2])):
        raise errors.TokenMalformed("not a compact JWS (three base64url segments)")
    if header.get("typ") != TYP:
        raise errors.TokenMalformed(f"typ must be {TYP}")
    if "crit" in header:
        raise errors.TokenMalformed("no critical header extensions are understood")
    kid = header.get("kid")
    key = ctx.public_key(session, kid, now) if isinstance(kid, str) and len(kid) <= 40 else None
    if key is None:
        raise errors.TokenUnknownKey("the kid is not a published token key (see the JWKS)")
    try:
        signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        if base64.urlsafe_b64encode(signature).decode().rstrip("=") != parts[2]:
            # Extra trailing bits spell the same bytes: one signature, one spelling (RFC 7515
            # §2, RFC 4648 §3.5), so a token cannot be re-spelled to get a new identity.
            raise errors.TokenBadSignature("the signature is not canonical base64url")
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise errors.TokenBadSignature("the signature does not verify") from exc
    body = _b64json(parts[1])
    try:
        claims = Claims(**{k: body[k] for k in ("iss", "aud", "sub", "scn", "ent", "iat",
                                                "exp", "jti")})
    except (KeyError, TypeError) as exc:
        raise errors.TokenMalformed("the token lacks a required claim") from exc
    strings = (claims.iss, claims.aud, claims.sub, claims.scn, claims.jti)
    if (not all(isinstance(s, str) for s in strings) or not isinstance(claims.ent, dict)
            or type(claims.iat) is not int or type(claims.exp) is not int):
        raise errors.TokenMalformed("a claim has the wrong type")
    return claims


def check_time_and_audience(ctx: TokenContext, claims: Claims, *, audience: str,
                            now: datetime) -> None:
    if claims.iss != ctx.issuer:
        raise errors.TokenMalformed("the token was not issued by this service")
    if not 0 < claims.exp - claims.iat <= MAX_TOKEN_TTL:
        raise errors.TokenMalformed("the token's lifetime is out of bounds")
    t = now.timestamp()
    if t >= claims.exp:
        raise errors.TokenExpired("the token has expired; ask the resident to refresh it")
    if claims.iat > t + IAT_LEEWAY:
        raise errors.TokenNotYetValid("the token is not valid yet")
    if claims.aud != audience:
        raise errors.TokenWrongAudience("the token is addressed to another partner")
