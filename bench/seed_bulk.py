"""Bulk synthetic loader for benchmarks: residents, records and consents by PostgreSQL COPY.

`app.seed` goes through the real first-login, consent and ingestion code (≈ 17 residents/s on
the shared machine); a city-scale benchmark needs 10⁵–10⁷ residents, so this loader writes the
same rows those paths would write, straight into the tables, with ``COPY … FROM STDIN``:

* residents — the synthetic population of `scoring.synthetic.generate_people` (valid ID numbers,
  blind index, name / ID number / phone encrypted with `core.identity.set_personal`). Shortcut:
  all of them share ONE data key (the real path makes one per resident); scoring never reads
  personal fields.
* records — `scoring.synthetic.generate_batch` (with a few disputed/repaired), owned by their
  resident, with the publicity end ingestion computes; one synthetic data source. The
  secondary indexes and constraints of `records` are dropped during the load and rebuilt
  (checked) at the end.
* consents — four residents in five get a scoring consent under the current scoring notice
  (the categories `generate_people` chose for them, restricted to the notice's), with its
  ``given`` event; no receipts. `score_version` is 1 (one ingestion marked them stale).

Used by `bench/score_db.py`; on its own: ``.venv/bin/python bench/seed_bulk.py --residents N``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.crypto import Keyring  # noqa: E402
from core.db import UnitOfWork  # noqa: E402
from core.identity import Person, Resident, set_personal  # noqa: E402
from core.idnumber import make  # noqa: E402
from core.registry import RECORD_STATUSES, SEVERITIES  # noqa: E402
from scoring.codes import CATEGORY_CODES, NO_END, TYPE_KEYS  # noqa: E402
from scoring.synthetic import DISTRICTS, generate_batch, generate_people  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CHUNK = 10_000  # residents per generated and copied slice (bounds the loader's memory)

RESIDENT_COLUMNS = ("id", "id_index", "data_key_id", "name_ct", "id_number_ct", "phone_ct",
                    "birth_year", "district", "status", "created_at", "score_stale_at",
                    "score_version")
RECORD_COLUMNS = ("id", "source_id", "source_record_id", "subject_index", "resident_id",
                  "category", "type", "occurred_at", "amount_fen", "quantity", "severity",
                  "status", "publicity_ends_at", "received_at")
CONSENT_COLUMNS = ("id", "resident_id", "purpose", "notice_id", "categories",
                   "separate_consent", "status", "given_at", "expires_at", "ended_at")
EVENT_COLUMNS = ("id", "consent_id", "resident_id", "purpose", "event", "at", "actor",
                 "channel", "notice_id", "notice_hash", "language", "categories")


def _copy(raw: Any, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def _iso(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds → ISO 8601 UTC text, vectorized (COPY parses it)."""
    return np.char.add(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "Z")


def _without_record_indexes(session: Any) -> list[str]:
    """Drop the secondary indexes, unique and foreign keys of `records`; the statements that
    bring them back (building an index once is far cheaper than maintaining it per row)."""
    restore = []
    for name, definition in session.execute(text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'records'::regclass AND contype IN ('u', 'f')")):
        session.execute(text(f'ALTER TABLE records DROP CONSTRAINT "{name}"'))
        restore.append(f'ALTER TABLE records ADD CONSTRAINT "{name}" {definition}')
    for name, definition in session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'records'::regclass)")):
        session.execute(text(f'DROP INDEX "{name}"'))
        restore.append(definition)
    return restore


def load(uow: UnitOfWork, keyring: Keyring, *, residents: int, seed: int = 1,
         now: datetime = NOW, log: Any = print) -> dict[str, int]:
    """Load `residents` synthetic residents with their records and consents into an empty
    PostgreSQL database (migrated, with the scoring notice); commits."""
    from app.seed import synthetic_source
    from consent.notices import current, expiry

    session = uow.session
    source = synthetic_source(session, now)
    notice = current(session, "scoring")
    assert notice is not None, "the scoring notice is seeded by the migrations"
    key = keyring.new_data_key(session, now, owner="bench:seed_bulk")
    session.flush()
    raw = session.connection().connection.driver_connection
    people = generate_people(residents, seed=seed, as_of=now)
    offered = [c for c in CATEGORY_CODES if c in set(notice.categories)]
    sensitive = set(notice.separate_consent_categories)
    expires = expiry(notice, now)
    restore = _without_record_indexes(session)
    type_cat = [c for c, _ in TYPE_KEYS]
    type_code = [t for _, t in TYPE_KEYS]
    totals = {"residents": 0, "records": 0, "consents": 0}
    rng = np.random.default_rng([seed, 9])
    used: set[str] = set()
    t0 = time.perf_counter()
    for lo in range(0, residents, CHUNK):
        hi = min(lo + CHUNK, residents)
        ids = [uuid.uuid4() for _ in range(hi - lo)]
        index_of: list[str] = []
        rows = []
        for j, rid in enumerate(ids):
            i = lo + j
            born = date(1970, 1, 1) + timedelta(days=int(people.birth_day[i]))
            district, _zh, region, _w = DISTRICTS[int(people.district[i])]
            seq = (i * 7 + seed) % 1000
            while (id_number := make(region, born, seq)) in used:
                seq = (seq + 1) % 1000
                if seq == (i * 7 + seed) % 1000:  # that birth date is full: try the next day
                    born += timedelta(days=1)
            used.add(id_number)
            resident = Resident(id=rid, data_key_id=key.id)
            set_personal(session, keyring, resident, Person(
                f"居民{i}", id_number, f"139{int(rng.integers(0, 10**8)):08d}"))
            index_of.append(keyring.blind_index(id_number))
            rows.append((rid, index_of[-1], key.id, resident.name_ct, resident.id_number_ct,
                         resident.phone_ct, born.year, district, "active", now, now, 1))
        totals["residents"] += _copy(raw, "residents", RESIDENT_COLUMNS, iter(rows))

        batch = generate_batch(people, seed=seed, as_of=now, lo=lo, hi=hi, statuses=True)
        occurred = _iso(batch.occurred_at)
        ends_iso = _iso(np.where(batch.publicity_ends_at == NO_END, 0, batch.publicity_ends_at))
        received = now.isoformat()
        records = (
            (uuid.uuid4(), source.id, f"bulk-{seed}-{lo}-{k}", index_of[r], ids[r],
             type_cat[t], type_code[t], occurred[k], a or None, q or None,
             SEVERITIES[s] if s >= 0 else None, RECORD_STATUSES[st],
             ends_iso[k] if e != NO_END else None, received)
            for k, (r, t, a, q, s, st, e) in enumerate(zip(
                batch.resident.tolist(), batch.type.tolist(), batch.amount_fen.tolist(),
                batch.quantity.tolist(), batch.severity.tolist(), batch.status.tolist(),
                batch.publicity_ends_at.tolist(), strict=True))
        )
        totals["records"] += _copy(raw, "records", RECORD_COLUMNS, records)

        consents, events = [], []
        for j, rid in enumerate(ids):
            i = lo + j
            chosen = sorted(c for c in offered if people.consent[i, CATEGORY_CODES.index(c)])
            if i % 5 == 4 or not chosen:
                continue
            cid = uuid.uuid4()
            cats = json.dumps(chosen)
            consents.append((cid, rid, "scoring", notice.id, cats,
                             bool(notice.requires_separate_consent or sensitive & set(chosen)),
                             "active", now, expires, None))
            events.append((uuid.uuid4(), cid, rid, "scoring", "given", now, f"resident:{rid}",
                           "demo", notice.id, notice.hash, "zh", cats))
        totals["consents"] += _copy(raw, "consent_records", CONSENT_COLUMNS, iter(consents))
        _copy(raw, "consent_events", EVENT_COLUMNS, iter(events))
        log(f"  loaded {hi:,} residents, {totals['records']:,} records "
            f"({time.perf_counter() - t0:.0f} s)")
    t1 = time.perf_counter()
    for statement in restore:
        session.execute(text(statement))
    log(f"  rebuilt the record indexes ({time.perf_counter() - t1:.0f} s)")
    uow.commit()
    session.execute(text("ANALYZE residents, records, consent_records, scores"))
    uow.commit()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/pc_bench_score")
    args = parser.parse_args()

    from app import create_app
    from app.bootstrap import bootstrap
    from app.runtime import runtime
    from bench.common import recreate_database
    from core.clock import FrozenClock

    recreate_database(args.url).dispose()
    app = create_app({"DATABASE_URL": args.url, "ENV": "development"}, clock=FrozenClock(NOW))
    bootstrap(app)
    with app.app_context(), runtime().uow() as uow:
        t0 = time.perf_counter()
        totals = load(uow, runtime().keyring, residents=args.residents)
    print(json.dumps({**totals, "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
