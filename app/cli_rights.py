"""`pengcheng disputes|repairs|reviews …`: the operator queues from the command line.

Listings print one JSON object per line (no personal detail). A decision names the operator
who makes it (`--operator op_…`, an active reviewer or admin): it is audited under that name
and shown in the resident's access log, exactly as through `/admin/v1` (both go through
`rights.queues`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli_support import echo_json, refusals
from app.runtime import runtime
from core.db import UnitOfWork
from core.identity import Operator
from rights.models import DISPUTE_OUTCOMES, REPAIR_DECISIONS, REVIEW_OUTCOMES
from rights.queues import DECIDERS, QUEUES

disputes = AppGroup("disputes", help="Disputes (异议): list the queue, resolve one.")
repairs = AppGroup("repairs", help="Credit repair (信用修复) applications: list, decide.")
reviews = AppGroup("reviews", help="Human review requests (PIPL art. 24): list, decide.")

OPERATOR_OPTION = click.option("--operator", "operator_id", required=True,
                               help="client_id of the reviewer or admin deciding")


def _decider(uow: UnitOfWork, client_id: str) -> Operator:
    """The active reviewer or admin named by `--operator`."""
    found = uow.session.scalars(select(Operator).where(Operator.client_id == client_id)).first()
    if found is None or not found.active:
        raise click.ClickException(f"no active operator {client_id}")
    if found.role not in DECIDERS:
        raise click.ClickException(f"{client_id} is {found.role}; deciding needs reviewer or "
                                   "admin")
    return found


def _list(queue: str, status: str, limit: int, overdue: bool | None = None) -> None:
    with runtime().uow() as uow:
        for line in QUEUES[queue].items(uow, status=status, limit=limit,
                                        now=runtime().clock.now(), overdue=overdue):
            echo_json(line)


def _decide(queue: str, key: uuid.UUID, operator_id: str, **decision: Any) -> None:
    with runtime().uow() as uow, refusals(with_code=True):
        echo_json(asdict(QUEUES[queue].decide(uow, key, operator=_decider(uow, operator_id),
                                       now=runtime().clock.now(), **decision)))


@disputes.command("list")
@click.option("--status", type=click.Choice(["open", "resolved", "all"]), default="open",
              show_default=True)
@click.option("--overdue", is_flag=True, help="Only open disputes past their deadline")
@click.option("--limit", default=100, show_default=True)
def disputes_list(status: str, overdue: bool, limit: int) -> None:
    """The dispute queue, earliest deadline first (overdue ones flagged)."""
    _list("disputes", status, limit, overdue=True if overdue else None)


@disputes.command("resolve")
@click.argument("dispute_id", type=click.UUID)
@click.option("--outcome", type=click.Choice(DISPUTE_OUTCOMES), required=True)
@click.option("--note", required=True, help="Shown to the resident")
@click.option("--correction", default=None,
              help='With --outcome corrected: JSON, e.g. \'{"type": "payment_on_time"}\'')
@OPERATOR_OPTION
def disputes_resolve(dispute_id: uuid.UUID, outcome: str, note: str, correction: str | None,
                     operator_id: str) -> None:
    """Resolve a dispute; the resident is notified and their score recomputes."""
    try:
        changes = json.loads(correction) if correction else None
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--correction") from exc
    _decide("disputes", dispute_id, operator_id, outcome=outcome, note=note, correction=changes)


@repairs.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "all"]),
              default="pending", show_default=True)
@click.option("--limit", default=100, show_default=True)
def repairs_list(status: str, limit: int) -> None:
    """Credit repair applications, oldest first."""
    _list("repairs", status, limit)


@repairs.command("decide")
@click.argument("repair_id", type=click.UUID)
@click.option("--decision", type=click.Choice(REPAIR_DECISIONS), required=True)
@click.option("--note", required=True, help="Shown to the resident")
@OPERATOR_OPTION
def repairs_decide(repair_id: uuid.UUID, decision: str, note: str, operator_id: str) -> None:
    """Approve or reject a repair application; the resident is notified."""
    _decide("repairs", repair_id, operator_id, decision=decision, note=note)


@reviews.command("list")
@click.option("--status", type=click.Choice(["open", "decided", "all"]), default="open",
              show_default=True)
@click.option("--limit", default=100, show_default=True)
def reviews_list(status: str, limit: int) -> None:
    """Human review requests, oldest first."""
    _list("reviews", status, limit)


@reviews.command("decide")
@click.argument("review_id", type=click.UUID)
@click.option("--outcome", type=click.Choice(REVIEW_OUTCOMES), required=True)
@click.option("--note", required=True, help="Shown to the resident (with confirmed: why)")
@click.option("--effect", default=None,
              help='With changed, JSON: {"kind": "record_removed", "record_id": …}, '
                   '{"kind": "record_corrected", "record_id": …, "correction": {…}} or '
                   '{"kind": "eligibility_override", "scenario": …, "ends_at": …}')
@OPERATOR_OPTION
def reviews_decide(review_id: uuid.UUID, outcome: str, note: str, effect: str | None,
                   operator_id: str) -> None:
    """Record the outcome of a human review and make its effect happen; the resident is
    notified."""
    try:
        named = json.loads(effect) if effect else None
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--effect") from exc
    if named is not None and not isinstance(named, dict):
        raise click.BadParameter("a JSON object", param_hint="--effect")
    _decide("reviews", review_id, operator_id, outcome=outcome, note=note, effect=named)
