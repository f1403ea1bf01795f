"""The public model (issue 23 item 4): its card and exact spec without sign-in, and a score
recomputed by a third party from an export and the spec with code that imports nothing of ours."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.consent import grant_scoring
from tests.support.factories import bearer, cli, login, new_source
from tests.support.tokens import rec

RECOMPUTE = Path(__file__).parents[2] / "docs" / "recompute_score.py"


def test_the_model_card_is_public_and_describes_every_feature_and_the_split(client):
    response = client.get("/api/v1/model")
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]
    card = response.get_json()
    spec = client.get("/api/v1/model/spec").get_json()
    assert card["id"] == spec["id"] and card["status"] == "active"
    assert card["activated_at"].endswith("Z")
    assert [f["code"] for f in card["features"]] == [f["code"] for f in spec["features"]]
    for shown, written in zip(card["features"], spec["features"], strict=True):
        assert shown["edges"] == written["bins"] and shown["points"] == written["points"]
        assert len(shown["bins"]) == len(written["points"])
        assert shown["bins"][0]["from"] is None and shown["bins"][-1]["to"] is None
        assert shown["reason"]["zh"] and shown["tip"]["en"]
        assert shown["role"] in ("core", "supplement")
    roles = {c["code"]: c for c in card["categories"]}
    assert roles["judicial"]["role"] == "core" and "max_points" not in roles["judicial"]
    assert roles["volunteer"]["role"] == "supplement" and roles["volunteer"]["max_points"] > 0
    assert all(c["legal_basis"] and c["why"] for c in card["categories"])
    assert [t["min"] for t in card["tiers"]] == sorted(t["min"] for t in spec["tiers"])
    assert card["tiers"][-1]["max"] is None
    assert card["score_range"]["min"] < card["score_range"]["max"]
    assert sum(d["max_points"] for d in card["dimensions"]) + card["base_points"] \
        == card["score_range"]["max"]


def test_the_spec_is_its_canonical_text_whose_sha256_is_the_model_hash(client):
    response = client.get("/api/v1/model/spec")
    assert response.status_code == 200 and response.mimetype == "application/json"
    digest = hashlib.sha256(response.data).hexdigest()
    assert response.headers["X-Model-Hash"] == digest == client.get(
        "/api/v1/model").get_json()["hash"]
    assert response.headers["ETag"] == f'"{digest}"'
    again = client.get("/api/v1/model/spec", headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and not again.data
    assert client.get("/api/v1/model/spec?model=no-such-model").status_code == 404


def test_a_third_party_recomputes_every_residents_score_from_the_export_and_the_spec(
        app, client, idp, tmp_path):
    _src, key = new_source(app)
    people = {
        1: [rec(1, "1u", "utilities", "payment_on_time"),
            rec(1, "1s", "social_insurance", "contribution_month"),
            rec(1, "1v", "volunteer", "service_hours", quantity=42.5)],
        2: [rec(2, "2j", "judicial", "dishonest_debtor", severity="serious"),
            rec(2, "2t", "traffic", "violation", severity="minor")],
        3: [rec(3, "3p", "public_credit", "admin_penalty", severity="general"),
            rec(3, "3r", "rental", "rent_on_time"), rec(3, "3x", "tax", "arrears",
                                                      amount_fen=250_000)],
        4: [],
    }
    pushed = [r for records in people.values() for r in records]
    assert client.post("/ingest/v1/records", headers=bearer(key),
                       json={"records": pushed}).status_code == 200
    spec = tmp_path / "spec.json"
    spec.write_bytes(client.get("/api/v1/model/spec").data)
    seen = []
    for n in people:
        token = login(client, idp, n)
        # resident 3 adds only one supplement: the left-out ones are unknown in the inputs
        grant_scoring(client, token, ["rental"] if n == 3 else None)
        shown = client.get("/api/v1/me/score", headers=bearer(token)).get_json()
        export = tmp_path / f"export-{n}.json"
        export.write_text(json.dumps(client.get("/api/v1/me/export",
                                                headers=bearer(token)).get_json()))
        # -I -S: isolated, no site-packages — the standard library only, nothing of ours
        run = subprocess.run([sys.executable, "-I", "-S", str(RECOMPUTE), str(export),
                              str(spec)], capture_output=True, text=True, cwd=tmp_path,
                             timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        lines = [json.loads(line) for line in run.stdout.splitlines()]
        assert lines and all(line["ok"] for line in lines)
        assert lines[-1]["recomputed"] == shown["score"]
        seen.append(shown["score"])
    assert len(set(seen)) == len(seen)  # four different residents, four different scores


@pytest.mark.parametrize("tamper", ["spec", "inputs"])
def test_the_recomputation_fails_when_the_spec_or_the_inputs_are_not_the_ones_scored(
        app, client, idp, tmp_path, tamper):
    token = login(client, idp, 5)
    grant_scoring(client, token)
    client.get("/api/v1/me/score", headers=bearer(token))
    spec = json.loads(client.get("/api/v1/model/spec").data)
    export = client.get("/api/v1/me/export", headers=bearer(token)).get_json()
    if tamper == "spec":
        spec["base_points"] += 1
    else:
        export["scores"][-1]["inputs"]["as_of"] = "2020-01-01T00:00:00Z"
    (tmp_path / "spec.json").write_text(json.dumps(spec, ensure_ascii=False))
    (tmp_path / "export.json").write_text(json.dumps(export, ensure_ascii=False))
    run = subprocess.run([sys.executable, "-I", "-S", str(RECOMPUTE), "export.json",
                          "spec.json"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 1
    assert not json.loads(run.stdout.splitlines()[-1])["ok"]


def test_the_card_shows_the_latest_validation_report_summary(app, client, tmp_path):
    assert client.get("/api/v1/model").get_json()["validation"] is None
    active = client.get("/api/v1/model").get_json()["id"]
    spec = tmp_path / "spec.json"
    spec.write_bytes(client.get("/api/v1/model/spec").data)
    result = cli(app, "model", "validate", str(spec), "--report", str(tmp_path / "r.html"),
                 "--residents", "1000")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])["report"]
    shown = client.get("/api/v1/model").get_json()
    assert shown["id"] == active
    assert shown["validation"]["auc"] == report["auc"] and shown["validation"]["at"]
    assert shown["validation"]["departures"] == report["departures"]
