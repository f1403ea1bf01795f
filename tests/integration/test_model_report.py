"""Validation a credit office can sign (issue 23 item 5): `pengcheng model validate --report` and
`model monitor` — districts by name, tiers filled, numbers rounded, PSI against a stored
baseline the first run stores, outcome metrics per group, plots, and the groups that depart."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.runtime import runtime
from app.seed import seed
from core.records import Record
from scoring.monitor import ScoreBaseline, latest_validation
from scoring.public import card, published_row
from scoring.services import active_model
from scoring.spec import MODELS_DIR
from tests.support.factories import T0, cli

SPEC = MODELS_DIR / "pengcheng-v1.json"


def run(app, *args: str) -> dict:
    result = cli(app, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def tables_and_text(page: str) -> str:
    """The page without its plots (SVG coordinates are not numbers a reader reads)."""
    return re.sub(r"<svg.*?</svg>", "", page, flags=re.S)


def test_the_validation_report_names_districts_fills_tiers_rounds_and_names_departures(
        app, uow, tmp_path):
    path = tmp_path / "report.html"
    out = run(app, "model", "validate", str(SPEC), "--report", str(path),
              "--residents", "4000")
    report = out["report"]
    assert 0.6 < report["auc"] < 0.8 and report["n"] == 4000
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") >= 6  # tiers, ROC, bad rate by band, calibration ×3
    assert "http://" not in page and "https://" not in page
    text = tables_and_text(page)
    assert "福田区 Futian" in text and "宝安区 Baoan" in text
    assert "<td>futian</td>" not in text
    assert re.search(r"<td>excellent \d+\.\d% · very_good \d+\.\d% · good", text)
    assert not re.search(r"\d\.\d{5,}", text)  # numbers rounded
    for heading in ("By district", "By age band", "By number of supplements added"):
        assert f"<h2>{heading}</h2>" in text
    assert "registry holds no sex" in text
    departures = report["departures"]
    assert departures["auc"] and departures["calibration"]
    first = departures["auc"][0]
    assert f"<b>{first['group']}</b>" in text and f"{first['by']:+.3f}" in text
    # the first report stored the baseline; the model card shows the summary
    session = uow.session
    stored = session.get(ScoreBaseline, "validation")
    assert stored is not None and stored.model_id == "pengcheng-v1"
    assert report["psi_vs_baseline"] == 0.0
    shown = card(published_row(session), active_model(session),
                 latest_validation(session, "pengcheng-v1"))["validation"]
    assert shown["auc"] == report["auc"] and shown["departures"] == departures


def test_a_later_report_measures_its_psi_against_the_first_runs_baseline(app, uow, tmp_path):
    run(app, "model", "validate", str(SPEC), "--report", str(tmp_path / "a.html"),
        "--residents", "2000")
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    spec["id"], spec["base_points"] = "pengcheng-shifted", spec["base_points"] - 60
    shifted = tmp_path / "shifted.json"
    shifted.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out = run(app, "model", "validate", str(shifted), "--report", str(tmp_path / "b.html"),
              "--residents", "2000")
    assert out["report"]["psi_vs_baseline"] > 0.25
    assert uow.session.get(ScoreBaseline, "validation").model_id == "pengcheng-v1"
    assert "PSI vs stored baseline</b> " in (tmp_path / "b.html").read_text(encoding="utf-8")


def test_monitoring_stores_a_baseline_and_measures_outcomes_after_the_scores_served(
        app, uow, clock, tmp_path):
    seed(runtime().uow, runtime().keyring, residents=120, rng_seed=3, now=T0)
    run(app, "score")
    first = run(app, "model", "monitor", "--min-group", "1")
    assert first["stored_baseline"]["stored_now"] is True
    assert first["stored_baseline"]["psi"] == 0.0 and first["outcomes"] is None
    assert all("tiers" in g for g in first["by_district"])
    assert all(not g["group"].isascii() for g in first["by_district"] if g["group"] != "unknown")
    assert first["by_sex"] is None and first["by_supplements"]

    # ten days on, some of the residents scored then defaulted on a credit-care bill
    clock.advance(days=10)
    session = uow.session
    records = session.scalars(select(Record).order_by(Record.id))
    bad = list({r.resident_id: r for r in records if r.resident_id}.values())[::6]
    for r in bad:
        session.add(Record(
            id=uuid.uuid4(), resident_id=r.resident_id, source_id=r.source_id,
            subject_index=r.subject_index, source_record_id=f"overdue-{r.resident_id}",
            category="scenario_performance", type="medical_credit_overdue",
            occurred_at=clock.now() - timedelta(days=2), severity="general",
            publicity_ends_at=clock.now() + timedelta(days=300), status="active",
            received_at=clock.now()))
    uow.commit()
    path = tmp_path / "served.html"
    later = run(app, "model", "monitor", "--days", "10", "--min-group", "1", "--report",
                str(path))
    assert later["stored_baseline"]["stored_now"] is False
    outcomes = later["outcomes"]
    assert outcomes is not None and 0 < outcomes["bad_rate"] < 1
    district = outcomes["groups"]["district"]
    assert sum(g["count"] for g in district) == outcomes["residents"]
    assert any(g.get("calibration") for g in district)
    page = Path(later["report"]).read_text(encoding="utf-8")
    assert "scores served" in page and page.count("<svg") >= 6


def test_monitoring_a_report_before_any_outcome_is_observable_writes_none(app, tmp_path):
    path = tmp_path / "none.html"
    result = cli(app, "model", "monitor", "--report", str(path))
    assert result.exit_code == 1 and not path.exists()
