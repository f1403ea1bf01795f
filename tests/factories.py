"""Helpers that arrange state through the real services (not by writing rows by hand)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.extensions import services
from core.identity import create_operator, create_partner, create_source
from core.idnumber import make
from core.registry import CATEGORIES


def id_number(n: int, born: date = date(1990, 5, 17)) -> str:
    return make("440305", born, n)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_source(app: Any, categories: list[str] | None = None) -> tuple[Any, str]:
    with app.app_context(), services.uow() as uow:
        source, key = create_source(uow.session, name="测试数据源",
                                    categories=categories or sorted(CATEGORIES),
                                    now=services.clock.now())
        uow.commit()
    return source, key


def new_partner(app: Any, kind: str = "hospital", scenarios: list[str] | None = None
                ) -> tuple[Any, str]:
    with app.app_context(), services.uow() as uow:
        partner, key = create_partner(uow.session, name=f"测试{kind}", kind=kind,
                                      scenarios=scenarios or [], now=services.clock.now())
        uow.commit()
    return partner, key


def new_operator(app: Any, role: str = "admin") -> tuple[Any, str]:
    with app.app_context(), services.uow() as uow:
        operator, key = create_operator(uow.session, name=f"op-{role}", role=role,
                                        now=services.clock.now())
        uow.commit()
    return operator, key


def login(client: Any, idp: Any, number: int = 1, name: str = "张三") -> str:
    """Sign in through the identity provider; returns the session token."""
    response = client.post("/api/v1/auth/session",
                           json={"assertion": idp.assertion(id_number(number), name)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def cli(app: Any, *args: str) -> Any:
    """Run a `pengcheng` command against `app`; returns click's Result."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from app.cli import main

    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app),
                              catch_exceptions=False)
