"""`pengcheng audit verify|checkpoint|export-checkpoints|entries`: the hash-chained audit log.

`verify` checks the chain and its checkpoints: with `--checkpoints FILE` against checkpoints
exported earlier (kept outside the database), without it also that the newest checkpoint is
recent (`core.audit_jobs.max_age`). `export-checkpoints --append FILE` keeps that copy growing;
`entries` is the auditor's read of the chain (docs/operations.md, "Audit").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from app.cli_support import echo_json, now
from app.runtime import runtime
from core import audit as log
from core.audit_jobs import max_age
from core.clock import utc

audit = AppGroup("audit", help="The hash-chained audit log: verify, checkpoints, entries.")


@audit.command("verify")
@click.option("--checkpoints", "exported", type=click.File("r", encoding="utf-8"),
              help="Checkpoints exported earlier (`audit export-checkpoints`); `-` reads stdin")
def audit_verify(exported: Any) -> None:
    """Check the chain and its checkpoints; exit 1 on any edit, deletion or reordering.

    With --checkpoints FILE, every checkpoint in FILE must still match the chain (a re-hashed,
    truncated or missing chain fails). Without it, the newest checkpoint must be younger than
    AUDIT_CHECKPOINT_MINUTES + AUDIT_CHECKPOINT_MARGIN_MINUTES.
    """
    outside = None
    if exported is not None:
        try:
            outside = log.parse_exported(exported)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--checkpoints") from exc
    with runtime().uow() as uow:
        verdict = log.verify(uow.session, runtime().signer, now(), exported=outside,
                             max_age=None if outside is not None else max_age(
                                 runtime().settings))
    newest = verdict.newest_checkpoint
    echo_json({"ok": verdict.ok, "entries": verdict.entries,
               "checkpoints": verdict.checkpoints, "exported": verdict.exported,
               "newest_checkpoint": None if newest is None else {
                   "seq": newest.seq, "at": newest.at.isoformat()},
               "problems": verdict.problems})
    sys.exit(0 if verdict.ok else 1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Append an `audit.checkpoint` entry and sign it with the audit key."""
    with runtime().uow() as uow:
        head = log.sign_head(uow, runtime().signer, now())
    echo_json({"seq": head.seq, "entry_hash": head.entry_hash, "signature": head.signature})


@audit.command("export-checkpoints")
@click.option("--append", "copy", type=click.Path(dir_okay=False),
              help="Append the checkpoints FILE lacks (newer than its last line) to FILE")
def audit_export(copy: str | None) -> None:
    """Print every signed checkpoint as JSON lines (keep a copy outside the database)."""

    kept: list[log.SignedHead] = []
    if copy is not None and Path(copy).exists():
        with open(copy, encoding="utf-8") as lines:
            try:
                kept = log.parse_exported(lines)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--append") from exc
    last = max((cp.seq for cp in kept), default=0)
    with runtime().uow() as uow:
        found = [cp for cp in log.signed_checkpoints(uow.session) if cp.seq > last]
    if copy is None:
        for cp in found:
            echo_json(log.exported_line(cp))
        return
    with open(copy, "a", encoding="utf-8") as out:
        for cp in found:
            out.write(json.dumps(log.exported_line(cp), ensure_ascii=False) + "\n")
    echo_json({"appended": len(found), "file": copy})


TIMES = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


@audit.command("entries")
@click.option("--action", help="An action (`dispute.resolved`) or a prefix (`dispute.*`)")
@click.option("--subject", help="The subject an entry names (an id)")
@click.option("--actor", help="Who acted (`cli`, `system`, `operator:<client id>`, …)")
@click.option("--since", type=click.DateTime(TIMES),
              help="Entries at or after this time (UTC unless a zone is given)")
@click.option("--until", type=click.DateTime(TIMES), help="Entries before this time")
@click.option("--after-seq", default=0, show_default=True, help="Entries after this seq")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (default: all)")
def audit_entries(action: str | None, subject: str | None, actor: str | None,
                  since: Any, until: Any, after_seq: int, limit: int | None) -> None:
    """Print entries in chain order as JSON lines, with their hashes."""
    left = limit
    with runtime().uow() as uow:
        while left is None or left > 0:
            page = log.entries(uow.session, action=action, subject=subject, actor=actor,
                               since=since and utc(since), until=until and utc(until),
                               after_seq=after_seq,
                               limit=min(left or log.MAX_PAGE, log.MAX_PAGE))
            for e in page.items:
                echo_json({"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                           "action": e.action, "subject": e.subject, "data": e.data,
                           "prev_hash": e.prev_hash, "entry_hash": e.entry_hash})
            left = None if left is None else left - len(page.items)
            if page.next_after_seq is None:
                break
            after_seq = page.next_after_seq
