"""Helpers that arrange state through the real services (not by writing rows by hand)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.runtime import runtime
from core.identity import create_operator, create_partner, create_source
from core.idnumber import make
from core.registry import CATEGORIES

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class FakeIdp:
    """A real Ed25519 identity provider for tests and benchmarks: it signs assertions."""

    ISSUER = "https://idp.sz.gov.cn"

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "idp-1", "alg": "EdDSA",
                               "x": base64.urlsafe_b64encode(raw).decode().rstrip("=")}]}

    def assertion(self, id_number: str, name: str = "张三", *, now: datetime = T0,
                  **overrides: Any) -> str:
        claims = {"iss": self.ISSUER, "aud": "pengcheng", "sub": f"u-{id_number}",
                  "id_number": id_number, "name": name,
                  "exp": int((now + timedelta(minutes=5)).timestamp()),
                  "iat": int(now.timestamp()), "jti": uuid.uuid4().hex}
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": "idp-1"})


def id_number(n: int, born: date = date(1990, 5, 17)) -> str:
    return make("440305", born, n)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_source(app: Any, categories: list[str] | None = None) -> tuple[Any, str]:
    with app.app_context(), runtime().uow() as uow:
        source, key = create_source(uow.session, name="测试数据源",
                                    categories=categories or sorted(CATEGORIES),
                                    now=runtime().clock.now())
        uow.commit()
    return source, key


def new_partner(app: Any, kind: str = "hospital", scenarios: list[str] | None = None
                ) -> tuple[Any, str]:
    with app.app_context(), runtime().uow() as uow:
        partner, key = create_partner(uow.session, name=f"测试{kind}", kind=kind,
                                      scenarios=scenarios or [], now=runtime().clock.now())
        uow.commit()
    return partner, key


def new_operator(app: Any, role: str = "admin") -> tuple[Any, str]:
    with app.app_context(), runtime().uow() as uow:
        operator, key = create_operator(uow.session, name=f"op-{role}", role=role,
                                        now=runtime().clock.now())
        uow.commit()
    return operator, key


def login(client: Any, idp: Any, number: int = 1, name: str = "张三", *,
          now: datetime = T0) -> str:
    """Sign in through the identity provider (its assertion made at `now`, valid for
    minutes); returns the session token."""
    response = client.post("/api/v1/auth/session",
                           json={"assertion": idp.assertion(id_number(number), name, now=now)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def cli(app: Any, *args: str) -> Any:
    """Run a `pengcheng` command against `app`; returns click's Result."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from app.cli import main

    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app),
                              catch_exceptions=False)
