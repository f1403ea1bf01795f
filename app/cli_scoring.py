"""`pengcheng score` and `pengcheng model …`: batch scoring and the model lifecycle."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup, with_appcontext

from app.runtime import runtime

if TYPE_CHECKING:
    import numpy as np

    from scoring.spec import Model

model = AppGroup("model", help="Scoring models: validate, activate, fit, list, monitor.")


@click.command("score")
@click.option("--partition", default="0/1", show_default=True,
              help="k/n (0 <= k < n): score only the residents whose id's last 32 bits % n == k")
@click.option("--chunk", default=1000, show_default=True,
              help="Residents per chunk: one transaction each, so a crash loses at most one "
                   "chunk (and bounds memory)")
@click.option("--verify", is_flag=True,
              help="Instead of scoring, recompute every stored score (score, tier, points, "
                   "explanation) from its stored inputs and model; list each row whose stored "
                   "columns differ, and exit 1 if any does")
@with_appcontext
def score(partition: str, chunk: int, verify: bool) -> None:
    """Batch-score residents whose stored score is not current (idempotent per partition).

    Progress goes to stderr after every chunk's commit; the summary (JSON) to stdout. Its
    transactions wait longer than a request's (`PENGCHENG_DB_BATCH_*`).
    """
    from scoring import batch
    from scoring.services import verify_stored

    if verify:
        with runtime().batch_uow() as uow:
            checked, bad = verify_stored(
                uow.session, progress=lambda n: click.echo(f"  verified {n}", err=True))
        click.echo(json.dumps({"checked": checked, "mismatches": [
            {"id": str(b.id), "resident_id": str(b.resident_id), "differs": list(b.differs),
             "stored": b.stored, "recomputed": b.recomputed} for b in bad]}))
        sys.exit(1 if bad else 0)
    try:
        part = batch.parse_partition(partition)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--partition") from exc
    if chunk < 1:
        raise click.BadParameter("must be at least 1", param_hint="--chunk")

    def progress(report: batch.BatchReport) -> None:
        r = report.as_dict()
        click.echo(f"  [{partition}] seen {r['seen']}, scored {r['scored']}, "
                   f"current {r['skipped_current']}, no consent {r['no_consent']} "
                   f"({r['residents_per_s']}/s, {r['seconds']} s)", err=True)

    report = batch.run(runtime().batch_uow, now=runtime().clock.now(), partition=part, chunk=chunk,
                       progress=progress)
    click.echo(json.dumps({"partition": partition, **report.as_dict()}))


@model.command("list")
def model_list() -> None:
    """Every stored model and its lifecycle state."""
    from dataclasses import asdict

    from scoring.services import models

    with runtime().uow() as uow:
        stored = models(uow.session)
    for state in stored:
        click.echo(json.dumps(asdict(state)))


@model.command("validate")
@click.argument("spec_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Also write a validation report (HTML) over a synthetic population, and keep "
                   "its summary for the public model card")
@click.option("--residents", default=20000, show_default=True, type=click.IntRange(min=1000),
              help="Synthetic residents for the report")
def model_validate(spec_path: str, report_path: str | None, residents: int) -> None:
    """Validate a model spec; store it as `validated` (exit 1 and list problems if invalid)."""
    from core.errors import DomainError
    from scoring.services import register_model

    try:
        spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        click.echo(json.dumps({"valid": False, "problems": [f"not JSON: {exc}"]}))
        sys.exit(1)
    try:
        with runtime().uow() as uow:
            row = register_model(uow, spec, now=runtime().clock.now(), actor="cli")
    except DomainError as exc:
        click.echo(json.dumps({"valid": False, "problems": exc.extra.get("problems",
                                                                         [exc.detail])},
                              ensure_ascii=False))
        sys.exit(1)
    out = {"valid": True, "id": row.id, "status": row.status}
    if report_path:
        out["report"] = _report(spec, report_path, residents)
    click.echo(json.dumps(out, ensure_ascii=False))


# The scope of the stored baseline every synthetic report's PSI is measured against: the first
# report stores it, so a later report of any model shows how far it moves the same population.
REPORT_BASELINE = "validation"
REPORT_SEED = 7


def _report(spec: dict[str, Any], path: str, residents: int) -> dict[str, Any]:
    """The HTML report on a labelled synthetic population; its summary is kept for the model
    card (`scoring.monitor.store_validation`), its distribution as the baseline if none is."""
    from scoring.engine import score_batch
    from scoring.features import compute_features, consented_codes
    from scoring.monitor import against_baseline, store_validation, supplement_count
    from scoring.report import headline, write_report
    from scoring.spec import parse_model
    from scoring.synthetic import DISTRICTS, generate_batch, generate_people
    from scoring.validation import age_bands_from_days

    m = parse_model(spec)
    people = generate_people(residents, seed=REPORT_SEED)
    batch = generate_batch(people, seed=REPORT_SEED)
    people_asof = int(batch.occurred_at.max())
    scores = score_batch(m, compute_features(m, batch, people.consent, people_asof)).scores
    now = runtime().clock.now()
    with runtime().uow() as uow:
        baseline = against_baseline(uow.session, REPORT_BASELINE, m.id, scores, now=now)
        metrics = write_report(
            path, scores, people.label, model_id=m.id, tier_mins=[(t.code, t.min) for t in m.tiers],
            districts=[DISTRICTS[int(d)][0] for d in people.district],
            age_bands=age_bands_from_days(people.birth_day, people_asof // 86400),
            supplements=[supplement_count(consented_codes(row)) for row in people.consent],
            baseline=baseline,
            population=f"{residents:,} synthetic residents (scoring.synthetic, seed "
                       f"{REPORT_SEED}); bad = would default on 先诊后付 within a year")
        summary = {**headline(metrics), "population": f"synthetic, {residents} residents"}
        store_validation(uow.session, m.id, summary, now=now)
        uow.commit()
    return {"path": path, **summary}


@model.command("monitor")
@click.option("--days", default=7, show_default=True, type=click.IntRange(min=1),
              help="Compare the scores served now with those served this many days ago; the "
                   "outcomes are the adverse records since then")
@click.option("--min-group", default=10, show_default=True, type=click.IntRange(min=1),
              help="Smaller groups are reported by count only")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Also write the HTML report of the scores served --days ago against the "
                   "outcomes since (exit 1 when no outcome is observable yet)")
def model_monitor(days: int, min_group: int, report_path: str | None) -> None:
    """PSI of the scores served now against N days ago and the stored baseline; distributions
    and outcome metrics by district, age band and supplements added."""
    from datetime import timedelta

    from scoring.monitor import drift, labelled

    now = runtime().clock.now()
    since = now - timedelta(days=days)
    with runtime().uow() as uow:
        report = drift(uow.session, now=now, baseline=since, min_group=min_group)
        uow.commit()  # the stored baseline, on the first run after a model's activation
        found = labelled(uow.session, since=since, until=now) if report_path else None
    if report_path:
        if found is None:
            click.echo(json.dumps({**report, "report": None}, ensure_ascii=False,
                                  default=str))
            click.echo("no outcome is observable yet: no report written", err=True)
            sys.exit(1)
        _monitor_report(report_path, report, found, min_group)
        report["report"] = report_path
    click.echo(json.dumps(report, ensure_ascii=False, default=str))


def _monitor_report(path: str, report: dict[str, Any], found: Any, min_group: int) -> None:
    from scoring.report import write_report
    from scoring.services import active_model

    scores, bad, labels = found
    with runtime().uow() as uow:
        model = active_model(uow.session)
    write_report(path, scores, bad, model_id=model.id,
                 tier_mins=[(t.code, t.min) for t in model.tiers], districts=labels["district"],
                 age_bands=labels["age_band"], supplements=labels["supplements"],
                 baseline=report["stored_baseline"], min_group=min_group,
                 population=f"scores served {report['baseline'][:10]} to {len(scores)} "
                            f"residents; bad = an overdue 先诊后付 bill or a defaulted deposit "
                            f"waiver by {report['as_of'][:10]}")


@model.command("activate")
@click.argument("model_id")
def model_activate(model_id: str) -> None:
    """Make a validated model the only active one (every score is recomputed on next read)."""
    from scoring.services import activate_model

    with runtime().uow() as uow:
        activate_model(uow, model_id, now=runtime().clock.now(), actor="cli")
    click.echo(json.dumps({"active": model_id}))


@model.command("fit")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--outcomes", "outcomes_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV resident_id,bad: fit on these residents (see docs/model-card.md); "
                   "without it, on a synthetic population")
@click.option("--observed-at", default=None,
              help="ISO 8601 instant the outcomes are observed from: features use the records "
                   "as they stood then (default: now)")
@click.option("--residents", default=50000, show_default=True,
              help="Size of the synthetic population (without --outcomes)")
@click.option("--id", "model_id", default="pengcheng-fit-draft", show_default=True)
@click.option("--target-score", default=600, show_default=True, type=click.IntRange(1, 999),
              help="The score at --target-odds")
@click.option("--target-odds", default=50.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="Odds good:bad at --target-score")
@click.option("--pdo", default=40.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="Points to double the odds")
def model_fit(out_path: str, outcomes_path: str | None, observed_at: str | None, residents: int,
              model_id: str, target_score: int, target_odds: float, pdo: float) -> None:
    """Fit a draft model (WOE bins + logistic regression, PDO scaling) on labelled outcomes."""
    import numpy as np

    from scoring.fit import fit_spec
    from scoring.spec import load_model
    from scoring.spec_check import validate_spec

    template = load_model("pengcheng-v1")
    summary: dict[str, Any] = {}
    if outcomes_path:
        x, bad, summary = _real_outcomes(template, outcomes_path, observed_at)
    else:
        from scoring.features import compute_features
        from scoring.synthetic import generate_batch, generate_people

        people = generate_people(residents, seed=11)
        batch = generate_batch(people, seed=11)
        as_of = int(np.max(batch.occurred_at))
        x = compute_features(template, batch, np.ones_like(people.consent), as_of)
        bad = people.label
    spec = fit_spec(template.raw, x, bad, target_score=target_score, target_odds=target_odds,
                    pdo=pdo)
    spec["id"] = model_id
    problems = validate_spec(spec)
    Path(out_path).write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(json.dumps({"written": out_path, **summary, "valid": not problems,
                           "problems": problems}, ensure_ascii=False))


def _real_outcomes(template: Model, path: str, observed_at: str | None
                   ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Features and labels of the residents an outcome file names (exits 1 when unusable)."""
    from datetime import datetime

    from scoring.outcomes import OutcomesInvalid, labelled, parse

    now = runtime().clock.now()
    try:
        when = now if observed_at is None else datetime.fromisoformat(observed_at)
    except ValueError as exc:
        raise click.BadParameter("not an ISO 8601 instant", param_hint="--observed-at") from exc
    if when.tzinfo is None or when > now:
        raise click.BadParameter("must carry a timezone and not be in the future",
                                 param_hint="--observed-at")
    try:
        outcomes = parse(Path(path).read_text(encoding="utf-8-sig"))
    except (OutcomesInvalid, UnicodeDecodeError) as exc:
        click.echo(json.dumps({"valid": False, "problems": getattr(exc, "problems", [str(exc)])},
                              ensure_ascii=False))
        sys.exit(1)
    with runtime().uow() as uow:
        found = labelled(uow.session, template, outcomes, observed_at=when, now=now)
    if len(set(found.bad.tolist())) < 2:
        click.echo(json.dumps({"valid": False, "problems": [
            "after leaving out residents without a scoring consent, one outcome is missing"]}))
        sys.exit(1)
    return found.x, found.bad, {"residents": int(len(found.bad)), "left_out": found.left_out,
                                "bad_rate": round(float(found.bad.mean()), 4),
                                "observed_at": when.isoformat()}
