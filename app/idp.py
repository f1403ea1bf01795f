"""Verification of the city identity provider's signed, real-name-verified assertions.

One implementation, so no interface (STYLE 14): there is one provider, reached only through its
published keys. Development and tests do not swap the verifier; they configure keys whose
private half they hold (`tests.support.factories.FakeIdp` signs real assertions), so the code
that checks signatures, audience, issuer and times is the production code in every tier.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from core.errors import DomainError, Unauthorized
from core.fast import FastStore
from core.idnumber import is_valid, normalize

ALGORITHMS = ["EdDSA", "ES256"]
MAX_ASSERTION = 8192
LEEWAY = 30
MAX_LIFETIME = 600  # seconds from `iat` to `exp`
MAX_JTI, MAX_NAME, MAX_TEXT = 128, 100, 255
PHONE = re.compile(r"\+?[0-9][0-9 -]{2,30}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AssertionInvalid(Unauthorized):
    code, title = "assertion_invalid", "The identity assertion is malformed"


class AssertionReplayed(Unauthorized):
    code, title = "assertion_replayed", "The identity assertion was already used"


class IdpNotConfigured(DomainError):
    code, status, title = "idp_not_configured", 503, "No identity provider is configured"


class IdentityProvider:
    def __init__(self, jwks: jwt.PyJWKSet | None, issuer: str | None):
        self.jwks, self.issuer = jwks, issuer

    @classmethod
    def from_config(cls, source: Any, issuer: str | None) -> IdentityProvider:
        if not source:
            return cls(None, issuer)
        if isinstance(source, dict):
            doc = source
        else:
            text = str(source).strip()
            doc = json.loads(text if text.startswith("{") else Path(text).read_text())
        return cls(jwt.PyJWKSet.from_dict(doc), issuer)

    def verify(self, assertion: str, now: datetime, *, seen: FastStore) -> dict[str, Any]:
        """The verified claims of an assertion, or `Unauthorized` with the reason.

        An assertion is single use: its `jti` is recorded in `seen` (the fast store: Redis in
        production, shared by every process) until it expires, and a second presentation
        within that time is `AssertionReplayed`."""
        if self.jwks is None:
            raise IdpNotConfigured("set PENGCHENG_IDP_JWKS to accept identity assertions")
        if not isinstance(assertion, str) or len(assertion) > MAX_ASSERTION:
            raise Unauthorized("assertion is not a compact JWS", detail_zh="身份凭证格式错误")
        try:
            header = jwt.get_unverified_header(assertion)
            key = next((k for k in self.jwks.keys if k.key_id == header.get("kid")), None)
            if key is None or header.get("alg") not in ALGORITHMS:
                raise jwt.InvalidTokenError("unknown key or algorithm")
            # Times are checked below against the service clock, not PyJWT's wall clock.
            claims = jwt.decode(
                assertion, key.key, algorithms=[header["alg"]], audience="pengcheng",
                issuer=self.issuer,
                options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"],
                         "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.MissingRequiredClaimError as exc:
            if exc.claim not in ("iat", "jti"):
                raise Unauthorized(f"assertion rejected: {exc}", detail_zh="身份凭证无效") from exc
            raise AssertionInvalid(f"assertion rejected: {exc} (assertions are single use and "
                                   "short-lived)", detail_zh="身份凭证缺少签发时间或编号") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"assertion rejected: {exc}", detail_zh="身份凭证无效") from exc
        _check_types(claims)
        t = now.timestamp()
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
            raise Unauthorized("assertion times are malformed", detail_zh="身份凭证无效")
        if exp + LEEWAY < t:
            raise Unauthorized("assertion has expired", detail_zh="身份凭证已过期")
        if nbf - LEEWAY > t:
            raise Unauthorized("assertion is not yet valid", detail_zh="身份凭证尚未生效")
        if not is_valid(claims.get("id_number")):
            raise Unauthorized("assertion carries no valid id_number", detail_zh="身份证号码无效")
        if not isinstance(claims.get("name"), str) or not claims["name"].strip():
            raise Unauthorized("assertion carries no name", detail_zh="缺少姓名")
        iat = claims["iat"]
        if iat - LEEWAY > t:
            raise AssertionInvalid("assertion is issued in the future",
                                   detail_zh="身份凭证签发时间无效")
        if exp - iat > MAX_LIFETIME:
            raise AssertionInvalid(f"assertion lifetime exceeds {MAX_LIFETIME} seconds",
                                   detail_zh="身份凭证有效期过长")
        claims["id_number"] = normalize(claims["id_number"])
        digest = hashlib.sha256(f"{claims['iss']}|{claims['jti']}".encode()).hexdigest()
        if not seen.add(f"idp-jti:{digest}", max(1.0, exp + LEEWAY - t)):
            raise AssertionReplayed("assertion was already used; ask the identity provider "
                                    "for a new one", detail_zh="身份凭证已被使用")
        return claims


def _text(value: Any, limit: int) -> bool:
    """A string of at most `limit` characters that UTF-8 can hold, without control characters."""
    if not isinstance(value, str) or not value or len(value) > limit or CONTROL.search(value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _check_types(claims: dict[str, Any]) -> None:
    """`AssertionInvalid` for claims of the wrong type (they must never reach the database)."""
    for claim, limit in (("iss", MAX_TEXT), ("sub", MAX_TEXT), ("jti", MAX_JTI)):
        if not _text(claims.get(claim), limit):
            raise AssertionInvalid(f"assertion claim {claim!r} must be a non-empty string of "
                                   f"at most {limit} characters", detail_zh="身份凭证字段类型错误")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise AssertionInvalid("assertion claim 'iat' must be a number",
                               detail_zh="身份凭证签发时间无效")
    for claim in ("exp", "iat", "nbf"):  # JSON parsers accept NaN and Infinity
        if isinstance(claims.get(claim), float) and not math.isfinite(claims[claim]):
            raise AssertionInvalid(f"assertion claim {claim!r} must be a finite number",
                                   detail_zh="身份凭证时间字段无效")
    name = claims.get("name")
    if isinstance(name, str) and name.strip() and not _text(name, MAX_NAME):
        raise AssertionInvalid(f"assertion claim 'name' must be text of at most {MAX_NAME} "
                               "characters", detail_zh="姓名格式错误")
    phone = claims.get("phone_number")
    if phone is not None and not (isinstance(phone, str) and PHONE.fullmatch(phone)):
        raise AssertionInvalid("assertion claim 'phone_number' must be a phone number string",
                               detail_zh="手机号码格式错误")
