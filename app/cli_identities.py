"""`pengcheng partners|sources|operators …`: API-key principals and their credentials.

Each group has `create`, `list`, `rotate-key CLIENT_ID`, `deactivate CLIENT_ID` and
`reactivate CLIENT_ID`, and every command prints JSON. `create` and `rotate-key` show the new API
key once (only its hash is stored); `list` prints one JSON object per line and never a key or
its hash. Every change is audited with the actor `cli`, in the same transaction as the change.

Web instances cache principals for PENGCHENG_AUTH_CACHE_SECONDS (`app/auth.py`), so a rotated
or deactivated key is refused on every instance within that many seconds, not at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from app.cli_support import echo_json, now, refusals
from app.runtime import runtime
from core import credentials
from core.clock import utc
from core.identity import (
    OPERATOR_ROLES,
    PARTNER_KINDS,
    DataSource,
    Operator,
    Partner,
    principals,
)

CACHE_CAVEAT = ("Takes effect on every web instance within PENGCHENG_AUTH_CACHE_SECONDS "
                "(default 5).")
_VERBS = "create, list, rotate-key, deactivate, reactivate.\n\nA key change: " + CACHE_CAVEAT

partners = AppGroup("partners", help="Partners (hospitals, deposit partners, merchants, payment "
                    "channels): " + _VERBS)
sources = AppGroup("sources", help="Data sources that push records: " + _VERBS)
operators = AppGroup("operators", help="Operators (市信用办; admin, reviewer, auditor): "
                     + _VERBS)


# -- create (pinned: operators' scripts call these) ----------------------------------------------

@partners.command("create")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(PARTNER_KINDS))
@click.option("--scenario", "scenarios", multiple=True, help="Scenario code (repeatable)")
def partners_create(name: str, kind: str, scenarios: tuple[str, ...]) -> None:
    """Register a partner; prints {client_id, api_key} (the key is shown once)."""
    with refusals(), runtime().uow() as uow:
        partner, key = credentials.register_partner(uow, name=name, kind=kind,
                                                    scenarios=list(scenarios), now=now())
    echo_json({"client_id": partner.client_id, "api_key": key, "kind": partner.kind,
                "scenarios": partner.scenarios})


@sources.command("create")
@click.option("--name", required=True)
@click.option("--category", "categories", multiple=True, required=True,
              help="Category code (repeatable)")
def sources_create(name: str, categories: tuple[str, ...]) -> None:
    """Register a data source; prints {client_id, api_key} (the key is shown once)."""
    with refusals(), runtime().uow() as uow:
        source, key = credentials.register_source(uow, name=name, categories=list(categories),
                                                  now=now())
    echo_json({"client_id": source.client_id, "api_key": key, "categories": source.categories})


@operators.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(OPERATOR_ROLES))
def operators_create(name: str, role: str) -> None:
    """Register an operator; prints {client_id, api_key} (the key is shown once)."""
    with refusals(), runtime().uow() as uow:
        operator, key = credentials.register_operator(uow, name=name, role=role, now=now())
    echo_json({"client_id": operator.client_id, "api_key": key, "role": operator.role})


# -- list, rotate-key, deactivate, reactivate (the same for all three) ----------------------------

def _public(principal: Any, **fields: Any) -> dict[str, Any]:
    """What may be shown of a principal: never its key or the key's hash."""
    return {"client_id": principal.client_id, "name": principal.name, **fields,
            "active": principal.active, "created_at": utc(principal.created_at).isoformat()}


def _add_credential_commands(group: AppGroup, model: type,
                             describe: Callable[[Any], dict[str, Any]]) -> None:
    """Give `group` its list, rotate-key, deactivate and reactivate commands for `model`."""
    what = group.name

    @group.command("list", help=f"Print each of the {what} as one JSON line (never a key).")
    def list_all() -> None:
        with runtime().uow() as uow:
            for principal in principals(uow.session, model):
                echo_json(describe(principal))

    @group.command("rotate-key", help="Issue a new API key for CLIENT_ID (printed once, like "
                   "`create`); the old key stops working. " + CACHE_CAVEAT)
    @click.argument("client_id")
    def rotate(client_id: str) -> None:
        with refusals(), runtime().uow() as uow:
            principal, key = credentials.rotate(uow, model, client_id, now=now())
        echo_json({"client_id": principal.client_id, "api_key": key, **describe(principal)})

    def switch(active: bool, verb: str) -> None:
        @group.command(verb, help=f"{verb.capitalize()} CLIENT_ID: its key is "
                       f"{'accepted again' if active else 'refused'}; prints it with `changed`. "
                       + CACHE_CAVEAT)
        @click.argument("client_id")
        def command(client_id: str) -> None:
            with refusals(), runtime().uow() as uow:
                principal, changed = credentials.switch(uow, model, client_id, active,
                                                        now=now())
            echo_json({**describe(principal), "changed": changed})

    switch(False, "deactivate")
    switch(True, "reactivate")


_add_credential_commands(partners, Partner, lambda p: _public(p, kind=p.kind,
                                                              scenarios=p.scenarios))
_add_credential_commands(sources, DataSource, lambda s: _public(s, categories=s.categories))
_add_credential_commands(operators, Operator, lambda o: _public(o, role=o.role))
