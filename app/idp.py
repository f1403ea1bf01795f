"""Verification of the city identity provider's signed, real-name-verified assertions.

One implementation, so no interface (STYLE 14): there is one provider, reached only through its
published keys. Development and tests do not swap the verifier; they configure keys whose
private half they hold (`tests.support.factories.FakeIdp` signs real assertions), so the code
that checks signatures, audience, issuer and times is the production code in every tier.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from core.errors import DomainError, Unauthorized
from core.idnumber import is_valid, normalize

ALGORITHMS = ["EdDSA", "ES256"]
MAX_ASSERTION = 8192
LEEWAY = 30


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

    def verify(self, assertion: str, now: datetime) -> dict[str, Any]:
        """The verified claims of an assertion, or `Unauthorized` with the reason."""
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
                options={"require": ["iss", "aud", "sub", "exp"], "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"assertion rejected: {exc}", detail_zh="身份凭证无效") from exc
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
        claims["id_number"] = normalize(claims["id_number"])
        return claims
