"""The embedded demo: seeded residents and demo partners whose keys work, printed every start."""

from __future__ import annotations

import json
from pathlib import Path

from app.bootstrap import seed_demo_if_empty
from core.demo import PERSONAS
from tests.support.factories import bearer


def test_the_demo_seeds_residents_and_partners_whose_keys_work_and_prints_them_again(
        app, client) -> None:
    with app.app_context():
        first = seed_demo_if_empty(app, 5)
        again = seed_demo_if_empty(app, 5)
    assert first[0].startswith(f"seeded 5 residents, {len(PERSONAS)} personas")
    assert again[0] == f"{5 + len(PERSONAS)} residents already present (not reseeded)"
    partners = json.loads((Path(app.instance_path) / "demo-partners.json").read_text())
    assert {p["kind"] for p in partners} == {"hospital", "deposit_partner", "merchant",
                                              "payment_channel"}
    assert [line for line in again if line.startswith("demo partner")] == \
        [line for line in first if line.startswith("demo partner")]
    hospital = next(p for p in partners if p["kind"] == "hospital")
    answer = client.post("/partner/v1/tokens/introspect", headers=bearer(hospital["api_key"]),
                         json={"token": "not.a.token"})
    assert answer.status_code == 200 and answer.get_json() == {"active": False}
