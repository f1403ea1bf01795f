"""The erasure journal: every committed erasure, written outside the database.

Design overview
---------------
* A restored backup holds what was true when it was taken: a resident erased after it is alive
  again in it, with a data key that still opens their name, ID number and phone. Crypto-
  shredding alone cannot reach a copy made before the key was destroyed, so each erasure is
  also appended to this journal, a file that a database restore does not roll back, and
  `pengcheng restore finish` erases again every resident the journal names and the restored
  database does not show erased (`app/cli_restore.py`, docs/operations.md).
* One JSON object per line, `{"resident_id": …, "erased_at": …}`, appended with `O_APPEND` and
  fsynced after the erasure has committed. It names the internal, random account id — never a
  name, ID number, phone or blind index: the blind index is a keyed hash of the ID number, so
  a journal of them would let whoever holds the index key test "did this person erase their
  account?", the very link an erasure's tombstone breaks. The account id says nothing without
  a database, and in a database it points at an erased row (or, in a restored backup, at the
  row to erase again); the audit log already holds it.
* Replaying is idempotent: an entry whose resident is already erased, or absent (created after
  the backup), changes nothing; an entry read twice is one entry. A torn last line (a crash
  mid-append) is skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class JournalEntry:
    resident_id: uuid.UUID
    erased_at: datetime


@dataclass(frozen=True)
class ErasureJournal:
    """An append-only JSON-lines file of erasures (`PENGCHENG_ERASURE_JOURNAL`)."""

    path: Path

    def append(self, resident_id: uuid.UUID, erased_at: datetime) -> None:
        """Add one erasure and force it to disk (after its transaction has committed)."""
        line = json.dumps({"resident_id": str(resident_id), "erased_at": erased_at.isoformat()},
                          separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())  # one write of a short line under O_APPEND: whole
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> tuple[list[JournalEntry], int]:
        """Every resident's latest well-formed entry (an account reopened by signing in again
        may be erased again), first seen first, and how many lines could not be read (a torn
        last line after a crash)."""
        found: dict[uuid.UUID, JournalEntry] = {}
        unreadable = 0
        for raw in self._lines():
            try:
                obj = json.loads(raw)
                entry = JournalEntry(uuid.UUID(obj["resident_id"]),
                                     datetime.fromisoformat(obj["erased_at"]))
            except (ValueError, KeyError, TypeError):
                unreadable += 1
                continue
            latest = found.get(entry.resident_id)
            if latest is None or entry.erased_at > latest.erased_at:
                found[entry.resident_id] = entry
        return list(found.values()), unreadable

    def _lines(self) -> Iterator[str]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    yield line


def journal_at(path: str | os.PathLike[str] | None) -> ErasureJournal | None:
    """The journal at `path` (the configured `ERASURE_JOURNAL`), or None when unset."""
    return ErasureJournal(Path(path)) if path else None
