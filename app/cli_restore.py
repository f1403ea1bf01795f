"""`pengcheng restore finish|sync-journal`: a restored backup revives nothing.

A backup is a picture of the past. Restored, it would accept again a partner token consumed after
it was taken (the token's `jti` is not marked used in it) and would open again the personal data
of a resident erased after it (it holds their wrapped data key). `restore finish` is run once on
the restored database, before the service is started on it (docs/operations.md, "Restoring from
a backup"):

* **Tokens and sessions issued before the restore are refused.** Every `token` signing key is
  taken out of the JWKS at once (`Signer.restart`) and a new active and next key made, so a
  token signed before now answers `token_unknown_key` whoever holds it; every open resident
  session is revoked (a logout after the backup would otherwise be undone). Chosen over an
  epoch claim: the `kid` check already runs first on every token, offline verifiers see the
  change in the JWKS they already fetch, and nothing in the token format or in partners'
  code changes. The cost is small: tokens live at most 5 minutes, residents sign in again.
* **Erasures made after the backup are made again** from the erasure journal
  (`core.journal`), a file a database restore does not roll back: each resident it names who is
  in the restored database and not erased is erased by the same use case (`rights.erasure`),
  dated as the original. Idempotent: run it twice, the second run replays nothing.

`sync-journal` appends to the journal any erasure in the database it lacks (a write that failed
after the commit); run it on the live database, e.g. with the periodic jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli_support import echo_json, now
from app.runtime import runtime
from consent.services import Signing
from core.identity import Resident
from core.journal import ErasureJournal, journal_at
from core.restore import refuse_earlier_tokens
from rights import erasure
from rights.models import Erasure

restore = AppGroup("restore", help="After restoring a backup: refuse what it would revive.")

JOURNAL_OPTION = click.option(
    "--journal", "paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
    help="An erasure journal file (repeatable: one per host that kept its own); "
         "default: PENGCHENG_ERASURE_JOURNAL")


def _journals(paths: tuple[Path, ...]) -> list[ErasureJournal]:
    if paths:
        return [ErasureJournal(p) for p in paths]
    configured = journal_at(runtime().settings["ERASURE_JOURNAL"])
    return [configured] if configured else []


def _restart_tokens() -> dict[str, Any]:
    with runtime().uow() as uow:
        refused = refuse_earlier_tokens(uow, runtime().signer, now=now())
    at = refused.restore_point
    return {"restore_point": at.isoformat() if at else None,
            "token_kids_withdrawn": refused.token_kids_withdrawn, "token_kid": refused.token_kid,
            "sessions_revoked": refused.sessions_revoked}


def _replay(journals: list[ErasureJournal]) -> dict[str, int]:
    """Erase again each journalled resident the restored database does not show erased.

    A batch: one unit of work per journal entry (`rights.erasure.erase` commits each)."""
    counts = {"replayed": 0, "already_erased": 0, "not_in_backup": 0, "unreadable_lines": 0}
    signing = Signing(runtime().signer, runtime().issuer)
    for journal in journals:
        if not journal.path.exists():
            click.echo(f"warning: no erasure journal at {journal.path}", err=True)
            continue
        entries, unreadable = journal.entries()
        counts["unreadable_lines"] += unreadable
        for entry in entries:
            with runtime().uow() as uow:
                resident = uow.session.get(Resident, entry.resident_id)
                if resident is None:
                    counts["not_in_backup"] += 1  # created after the backup: nothing to erase
                elif ((done := uow.session.get(Erasure, resident.id)) is not None
                      and done.erased_at >= entry.erased_at):  # not an erasure after reopening
                    counts["already_erased"] += 1
                else:
                    erasure.erase(uow, resident, keyring=runtime().keyring, signing=signing,
                                  now=entry.erased_at, journal=None)  # already journalled
                    counts["replayed"] += 1
    return counts


@restore.command("finish")
@JOURNAL_OPTION
def restore_finish(paths: tuple[Path, ...]) -> None:
    """Run once on a restored database, service stopped: refuse every token and session issued
    before now, and erase again everyone erased after the backup (from the journal)."""
    journals = _journals(paths)
    if not journals:
        raise click.UsageError("no erasure journal: set PENGCHENG_ERASURE_JOURNAL or --journal")
    tokens = _restart_tokens()
    erasures = _replay(journals)
    if erasures["unreadable_lines"]:
        click.echo(f"warning: {erasures['unreadable_lines']} journal line(s) could not be read",
                   err=True)
    echo_json({**tokens, "erasures": erasures,
               "journals": [str(j.path) for j in journals]})


@restore.command("sync-journal")
@JOURNAL_OPTION
def restore_sync_journal(paths: tuple[Path, ...]) -> None:
    """Append to the journal every erasure in the database it lacks (on the live database)."""
    journals = _journals(paths)
    if len(journals) != 1:
        raise click.UsageError("name exactly one journal to append to")
    journal = journals[0]
    known = {(e.resident_id, e.erased_at) for e in journal.entries()[0]}
    added = 0
    with runtime().uow() as uow:
        for resident_id, erased_at in uow.session.execute(
                select(Erasure.resident_id, Erasure.erased_at).order_by(Erasure.erased_at)):
            if (resident_id, erased_at) not in known:
                journal.append(resident_id, erased_at)
                added += 1
    echo_json({"journal": str(journal.path), "added": added, "known": len(known)})
