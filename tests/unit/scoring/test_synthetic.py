"""The synthetic population: deterministic, valid identities, every category, ingest shape."""

from __future__ import annotations

from core.idnumber import birth_date, is_valid
from core.registry import CATEGORIES, record_type
from scoring.synthetic import DISTRICTS, generate_population


def test_the_population_is_deterministic_from_its_seed():
    assert generate_population(50, seed=7) == generate_population(50, seed=7)
    assert generate_population(50, seed=7) != generate_population(50, seed=8)


def test_residents_have_valid_shenzhen_id_numbers_and_details():
    residents, _ = generate_population(300, seed=1)
    codes = {d[2] for d in DISTRICTS}
    ids = [r["id_number"] for r in residents]
    assert len(set(ids)) == len(ids)
    for r in residents:
        assert is_valid(r["id_number"]) and r["id_number"][:6] in codes
        assert birth_date(r["id_number"]).isoformat() == r["birth_date"]
        assert len(r["phone"]) == 11 and r["phone"].startswith("1")
        assert 2 <= len(r["name"]) <= 3


def test_records_cover_every_category_in_the_ingest_shape():
    residents, records = generate_population(400, seed=2)
    assert {r["category"] for r in records} == set(CATEGORIES)
    allowed = {"source_record_id", "id_number", "category", "type", "occurred_at",
               "amount_fen", "quantity", "severity"}
    ids = {r["id_number"] for r in residents}
    for r in records:
        assert set(r) <= allowed and r["id_number"] in ids
        assert record_type(r["category"], r["type"]) is not None
        assert r["occurred_at"].endswith("Z")
    assert len({r["source_record_id"] for r in records}) == len(records)


def test_reliable_residents_default_less_often():
    residents, _ = generate_population(4000, seed=3)
    top = [r["label"] for r in residents if r["reliability"] > 0.5]
    low = [r["label"] for r in residents if r["reliability"] < -0.5]
    assert sum(top) / len(top) < sum(low) / len(low)
