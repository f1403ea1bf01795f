"""The batch path (`pengcheng score`): same answers as the single path, chunk-level reads that
agree with their per-resident counterparts, partitions, idempotent re-runs, bit-for-bit verify."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from flask.cli import ScriptInfo
from sqlalchemy import select, update

from app.cli import main
from app.runtime import runtime
from app.seed import seed
from consent.gate import scoring_categories, scoring_categories_many
from consent.models import ConsentRecord
from consent.notices import current
from consent.services import Signing, grant, withdraw
from core.identity import Resident
from core.records import Record
from core.registry import CATEGORIES, CORE
from scoring import batch, batch_records
from scoring.explain import score_resident
from scoring.features import valid_until
from scoring.services import active_model, explanation_of, latest, records_of
from scoring.store import Score
from tests.support.factories import T0

POPULATION = 36


def cli(app, *args):
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def summary(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def population(app, uow):
    """Seeded residents with varied records and consents, including the awkward cases."""
    seed(runtime().uow, runtime().keyring, residents=POPULATION, rng_seed=5, now=T0)
    session = uow.session
    everyone = list(session.scalars(select(Resident).order_by(Resident.id)))
    # the consented ones first: the cases below change their consents
    residents = sorted(everyone, key=lambda r: scoring_categories(session, r.id, T0) is None)
    signing = Signing(None, "https://test")
    notice = current(session, "scoring")
    # narrower consents, one with the sensitive category; a withdrawal; an expired consent
    grant(uow, residents[0], notice.id, now=T0, signing=signing,
          categories=["utilities", "social_insurance"])
    grant(uow, residents[1], notice.id, now=T0, signing=signing, separate_consent=True,
          categories=["judicial", "tax", "scenario_performance", "traffic"])
    withdrawn = session.scalars(select(ConsentRecord).where(
        ConsentRecord.resident_id == residents[2].id, ConsentRecord.purpose == "scoring")).one()
    withdraw(uow, residents[2], withdrawn.id, now=T0, signing=signing)
    session.execute(update(ConsentRecord).where(
        ConsentRecord.resident_id == residents[3].id, ConsentRecord.purpose == "scoring")
        .values(expires_at=T0 - timedelta(days=1)))
    # records the ingestion path never writes but the tables allow: no severity or publicity
    # end (defaults apply), fractional seconds, disputed and repaired records
    records = list(session.scalars(select(Record).where(Record.severity.is_not(None))
                                   .order_by(Record.id).limit(40)))
    for i, rec in enumerate(records):
        if i % 4 == 0:
            rec.severity, rec.publicity_ends_at = None, None
        elif i % 4 == 1:
            rec.publicity_ends_at = None
        elif i % 4 == 2:
            rec.status = "disputed" if i % 8 == 2 else "repaired"
        rec.occurred_at = rec.occurred_at.replace(microsecond=999_999)
    uow.commit()
    return residents


def test_chunk_consents_agree_with_the_per_resident_gate(app, uow, population):
    ids = [r.id for r in population] + [uuid.uuid4()]
    for now in (T0, T0 + timedelta(days=3650)):
        many = scoring_categories_many(uow.session, ids, now)
        single = {rid: scoring_categories(uow.session, rid, now) for rid in ids}
        assert many == {rid: cats for rid, cats in single.items() if cats is not None}
    assert population[2].id not in many and population[3].id not in many
    assert scoring_categories_many(uow.session, [], T0) == {}


def test_batch_scores_and_explanations_equal_the_single_path(app, uow, population):
    report = summary(cli(app, "score", "--chunk", "7"))
    session = uow.session
    stored = {s.resident_id: s for s in session.scalars(select(Score))}
    consented = {rid for rid in (r.id for r in population)
                 if scoring_categories(session, rid, T0) is not None}
    assert set(stored) == consented and report["scored"] == len(consented)
    assert report["no_consent"] == POPULATION - len(consented) >= 2
    model = active_model(session)
    for rid, row in stored.items():
        assert row.trigger == "batch"
        assert row.basis_version == session.get(Resident, rid).score_version
        records = records_of(session, [rid])
        categories = row.inputs["consented_categories"]
        explanation, inputs = score_resident(model, records, categories, T0)
        assert row.explanation is None  # the inputs only: the explanation is rendered on read
        assert explanation == explanation_of(session, row)
        assert inputs == row.inputs
        assert (row.score, row.tier, row.inputs_hash) == (
            explanation["score"], explanation["tier"], explanation["inputs_hash"])
        assert row.valid_until == valid_until(model, records, categories, T0)
    assert {tuple(s.inputs["consented_categories"]) for s in stored.values()} >= {
        tuple(c for c in CATEGORIES if c in CORE | {"social_insurance", "utilities"})}
    verified = cli(app, "score", "--verify")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output.strip().splitlines()[-1]) == {
        "checked": len(stored), "mismatches": []}


def test_chunk_records_are_the_single_path_records(app, uow, population):
    from scoring.features import batch_from_records

    ids = [r.id for r in population[:9]]
    chunk = batch_records.records_batch(uow.session, ids)
    for row, rid in enumerate(ids):
        active = [r for r in records_of(uow.session, [rid]) if r["status"] == "active"]
        one = batch_from_records(active)
        mine = chunk.resident == row
        for field in ("type", "category", "occurred_at", "amount_fen", "quantity", "severity",
                      "publicity_ends_at"):
            assert sorted(getattr(chunk, field)[mine].tolist()) == sorted(
                getattr(one, field).tolist()), field


def test_partitions_share_out_the_residents_and_reruns_write_nothing(app, uow, population):
    parts = [summary(cli(app, "score", "--partition", f"{k}/3", "--chunk", "5"))
             for k in range(3)]
    session = uow.session
    rows = list(session.scalars(select(Score)))
    assert sum(p["scored"] for p in parts) == len(rows)
    assert sum(p["seen"] for p in parts) == POPULATION
    assert len({s.resident_id for s in rows}) == len(rows)
    for k, part in enumerate(parts):
        assert part["partition"] == f"{k}/3"
    assert all(batch.partition_of(s.resident_id, 3) in range(3) for s in rows)
    for k in range(3):
        summary(cli(app, "score", "--partition", f"{k}/3"))  # re-run each partition
    again = summary(cli(app, "score"))
    assert again["scored"] == 0 and again["skipped_current"] == len(rows)
    assert session.scalar(select(Score.id).order_by(Score.id).offset(len(rows))) is None


def test_a_partition_holds_exactly_the_residents_its_hash_names(app, uow, population):
    for k in range(4):
        summary(cli(app, "score", "--partition", f"{k}/4"))
        scored = set(uow.session.scalars(select(Score.resident_id)))
        uow.session.execute(Score.__table__.delete())
        uow.commit()
        assert scored and all(batch.partition_of(rid, 4) == k for rid in scored)


def test_a_changed_resident_is_the_only_one_rescored(app, uow, population):
    summary(cli(app, "score"))
    target = population[10]
    uow.session.execute(update(Resident).where(Resident.id == target.id)
                        .values(score_version=Resident.score_version + 1))
    uow.commit()
    again = summary(cli(app, "score"))
    assert again["scored"] == 1
    newest = latest(uow.session, target.id)
    assert newest.basis_version == uow.session.get(Resident, target.id).score_version


def test_residents_whose_score_time_ran_out_are_the_only_ones_rescored(
        app, uow, population, clock):
    """A record's publicity ending, a record leaving a window or a "months since" stepping
    changes a score with no new data: the batch rescores exactly those residents."""
    summary(cli(app, "score"))
    session = uow.session
    until = {s.resident_id: s.valid_until for s in session.scalars(select(Score))}
    soonest = min(t for t in until.values() if t is not None)
    clock.advance(seconds=(soonest - clock.now()).total_seconds())
    due = {rid for rid, t in until.items() if t is not None and t <= clock.now()}
    assert due and len(due) < len(until)
    again = summary(cli(app, "score"))
    assert again["scored"] == len(due)
    rescored = {s.resident_id: s for s in session.scalars(select(Score).where(
        Score.computed_at == clock.now()))}
    assert set(rescored) == due
    assert all(s.valid_until is None or s.valid_until > clock.now() for s in rescored.values())
    assert summary(cli(app, "score"))["scored"] == 0


def test_monitoring_compares_the_scores_served_now_with_a_past_day(
        app, uow, population, clock):
    summary(cli(app, "score"))
    served = {s.resident_id: s.score for s in uow.session.scalars(select(Score))}

    def monitor(*args: str) -> dict:
        result = cli(app, "model", "monitor", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    clock.advance(days=10)
    none_then = monitor("--days", "30")  # nothing was served 30 days ago
    assert none_then["residents"] == len(served) and none_then["baseline_residents"] == 0
    assert none_then["psi"] is None
    same = monitor("--days", "5")
    assert same["baseline_residents"] == same["residents"] == len(served)
    assert same["psi"] == 0 and same["reading"] == "stable"

    # a serious penalty for most residents: the scores served shift
    for rid in list(served)[: len(served) * 3 // 4]:
        some = uow.session.scalars(select(Record).where(Record.resident_id == rid)).first()
        uow.session.add(Record(
            id=uuid.uuid4(), resident_id=rid, source_id=some.source_id,
            subject_index=some.subject_index, source_record_id=f"m-{rid}",
            category="judicial", type="dishonest_debtor", occurred_at=clock.now(),
            severity="serious", publicity_ends_at=clock.now() + timedelta(days=1000),
            status="active", received_at=clock.now()))
        uow.session.execute(update(Resident).where(Resident.id == rid)
                            .values(score_version=Resident.score_version + 1))
    uow.commit()
    summary(cli(app, "score"))
    shifted = monitor("--days", "5", "--min-group", "3")
    assert shifted["psi"] > 0.25 and shifted["reading"] == "shifted"
    for key in ("by_district", "by_age_band"):
        groups = shifted[key]
        assert sum(g["count"] for g in groups) == len(served)
        assert all("mean" in g for g in groups if g["count"] >= 3)
        assert all(set(g) == {"group", "count", "suppressed"} for g in groups if g["count"] < 3)
    everything_small = monitor("--min-group", "1000")
    assert all(g.get("suppressed") for g in everything_small["by_district"])


def test_a_model_is_fitted_on_real_residents_outcomes(app, uow, tmp_path, clock):
    import numpy as np

    seed(runtime().uow, runtime().keyring, residents=500, rng_seed=9, now=T0)
    summary(cli(app, "score"))
    session = uow.session
    served = {s.resident_id: s.score for s in session.scalars(select(Score))}
    everyone = list(session.scalars(select(Resident.id)))
    # outcomes a year on: the lower the score, the likelier a default; the draw is a fixed
    # function of the score (resident ids are random, so a seeded generator would not be)
    bad = {rid: int((score * 0.6180339887) % 1 < 1 / (1 + np.exp((score - 480) / 80)))
           for rid, score in served.items()}
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("resident_id,bad\n" + "".join(
        f"{rid},{bad.get(rid, 0)}\n" for rid in [*everyone, uuid.uuid4()]))
    clock.advance(days=365)
    out = tmp_path / "fitted.json"
    # 400 residents spread a fit wide: 30 points to double the odds keep it inside 0-1000
    fitted = summary(cli(app, "model", "fit", "--out", str(out), "--outcomes", str(outcomes),
                         "--observed-at", T0.isoformat(), "--pdo", "30"))
    assert fitted["valid"] is True, fitted
    assert fitted["residents"] == len(served)  # only residents consenting to scoring
    assert fitted["left_out"] == len(everyone) + 1 - len(served)
    spec = json.loads(out.read_text())
    assert spec["id"] == "pengcheng-fit-draft" and spec["features"]
    assert summary(cli(app, "model", "validate", str(out)))["valid"] is True

    for text_, problem in (("resident_id,label\n", "header"),
                           (f"resident_id,bad\n{everyone[0]},2\n{everyone[1]},0\n", "line 2"),
                           (f"resident_id,bad\n{everyone[0]},0\n{everyone[1]},0\n", "both")):
        outcomes.write_text(text_)
        refused = cli(app, "model", "fit", "--out", str(out), "--outcomes", str(outcomes))
        assert refused.exit_code == 1 and problem in refused.output, refused.output
    future = cli(app, "model", "fit", "--out", str(out), "--outcomes", str(outcomes),
                 "--observed-at", (clock.now() + timedelta(days=1)).isoformat())
    assert future.exit_code == 2 and "future" in future.output


def test_latest_of_a_chunk_is_each_residents_latest(app, uow, population):
    summary(cli(app, "score"))
    session = uow.session
    rows = list(session.scalars(select(Score).order_by(Score.resident_id).limit(3)))
    # a newer score for one resident, and a same-instant score with a higher basis for another
    for row, delta, basis in ((rows[0], timedelta(hours=1), 0), (rows[1], timedelta(0), 1)):
        session.add(Score(id=uuid.uuid4(), resident_id=row.resident_id, model_id=row.model_id,
                          score=row.score, tier=row.tier, computed_at=row.computed_at + delta,
                          basis_version=row.basis_version + basis, inputs=row.inputs,
                          inputs_hash=row.inputs_hash, explanation=row.explanation,
                          trigger="read"))
    uow.commit()
    ids = [r.id for r in population]
    chunk = batch.latest_many(session, ids)
    for rid in ids:
        one = latest(session, rid)
        if one is None:
            assert rid not in chunk
        else:
            assert (chunk[rid].basis_version, chunk[rid].model_id, chunk[rid].inputs,
                    chunk[rid].valid_until) == (
                one.basis_version, one.model_id, one.inputs, one.valid_until)


def test_a_bad_partition_is_refused(app):
    for bad in ("3/3", "-1/2", "1/0", "x"):
        result = cli(app, "score", "--partition", bad)
        assert result.exit_code == 2, (bad, result.output)


def test_a_batch_killed_mid_run_keeps_its_committed_chunks_and_the_rerun_scores_the_rest_once(
        app, uow, tmp_path, pg_url):
    """`kill -9` after two chunks' progress lines: those chunks are stored (one transaction per
    chunk, whatever the partition's size), the rerun scores exactly the rest, nobody twice."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import func

    seed(runtime().uow, runtime().keyring, residents=300, rng_seed=11, now=T0)
    consented = len(scoring_categories_many(
        uow.session, list(uow.session.scalars(select(Resident.id))), T0))
    uow.commit()
    root = Path(__file__).resolve().parents[2]
    # pg_url: a second process scores the seeded residents, so they are committed for real
    env = {**os.environ, "PENGCHENG_DATABASE_URL": pg_url,
           "PENGCHENG_ENV": "development", "PENGCHENG_INSTANCE_PATH": str(tmp_path),
           "PENGCHENG_MASTER_KEY": app.config["MASTER_KEY"],
           "PENGCHENG_INDEX_KEY": app.config["INDEX_KEY"]}
    env.pop("PENGCHENG_REDIS_URL", None)
    command = [sys.executable, "-c", "from app.cli import main; main()", "score",
               "--chunk", "10"]
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stderr.readline() for _ in range(2)]  # blocks; the batch prints them
        os.kill(proc.pid, signal.SIGSTOP)  # frozen at once: mid-run, wherever it is
        assert all("seen" in line for line in lines), lines
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    uow.session.rollback()
    kept = uow.session.scalar(select(func.count()).select_from(Score))
    assert 0 < kept < consented  # committed chunks survived; the run had not finished
    again = summary(cli(app, "score"))
    assert again["scored"] == consented - kept and again["skipped_current"] == kept
    rows = list(uow.session.execute(select(Score.resident_id, func.count()).group_by(
        Score.resident_id)))
    assert len(rows) == consented and all(n == 1 for _, n in rows)


def test_the_default_chunk_commits_often_whatever_the_partition_size():
    from app.cli_scoring import score

    chunk = next(p for p in score.params if p.name == "chunk")
    assert chunk.default == batch.CHUNK <= 1000


def test_a_score_read_inside_another_unit_of_work_is_committed_only_with_it(app, population):
    from scoring.services import current_score, fresh_score

    resident_id = population[5].id
    with runtime().uow() as uow:
        resident = uow.session.get(Resident, resident_id)
        view, computed = fresh_score(uow.session, resident, now=T0)
        assert computed and latest(uow.session, resident_id) is not None
    with runtime().uow() as uow:  # the first unit of work ended without a commit
        assert latest(uow.session, resident_id) is None
        again = current_score(uow, uow.session.get(Resident, resident_id), now=T0)
    with runtime().uow() as uow:
        assert latest(uow.session, resident_id).score == again.score == view.score
        assert fresh_score(uow.session, uow.session.get(Resident, resident_id),
                           now=T0)[1] is False
