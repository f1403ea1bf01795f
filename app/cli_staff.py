"""`pengcheng partners staff add|list|remove`: a partner's counter staff accounts (core.staff).

The password is asked for (twice, hidden; or read from standard input when it is not a
terminal), never taken from the command line, where other users of the machine could see it.
Every change is audited with the actor `cli`; removing an account ends its sessions at once.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli_support import echo_json, now, refusals
from app.runtime import runtime
from core import staff
from core.identity import Partner, principal

group = AppGroup("staff", help="Counter staff accounts of a partner: add, list, remove.")


def _shown(member: staff.Member) -> dict[str, object]:
    return {"username": member.username, "name": member.name, "active": member.active,
            "created_at": member.created_at.isoformat(),
            "removed_at": member.removed_at.isoformat() if member.removed_at else None}


@group.command("add")
@click.argument("client_id")
@click.argument("username")
@click.option("--name", required=True, help="The name the counter shows")
def staff_add(client_id: str, username: str, name: str) -> None:
    """Add USERNAME to partner CLIENT_ID (the password is prompted for)."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with refusals(), runtime().uow() as uow:
        partner = principal(uow.session, Partner, client_id)
        member = staff.add(uow, partner, username=username, name=name, password=password,
                           now=now(), actor="cli")
    echo_json(_shown(member))


@group.command("list")
@click.argument("client_id")
def staff_list(client_id: str) -> None:
    """Every staff account of CLIENT_ID, one JSON object per line (removed ones too)."""
    with refusals(), runtime().uow() as uow:
        for member in staff.members(uow.session, principal(uow.session, Partner, client_id)):
            echo_json(_shown(member))


@group.command("remove")
@click.argument("client_id")
@click.argument("username")
def staff_remove(client_id: str, username: str) -> None:
    """Remove USERNAME from CLIENT_ID: it cannot sign in again; its sessions end at once."""
    with refusals(), runtime().uow() as uow:
        partner = principal(uow.session, Partner, client_id)
        member = staff.remove(uow, partner, username, now=now(), actor="cli")
    echo_json(_shown(member))
