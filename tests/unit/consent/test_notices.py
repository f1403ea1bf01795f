"""Notice versions: hashing, material changes, the seeded catalogue."""

from datetime import UTC, datetime

import pytest

from consent.catalogue import SCENARIO_CODES, seed_notices
from consent.notices import build, document, is_material, notice_hash
from core.errors import InvalidInput
from core.registry import CORE

AT = datetime(2026, 11, 1, tzinfo=UTC)
SCENARIOS = {"medical_credit", "deposit_waiver_bike", "deposit_waiver_powerbank",
             "library_no_deposit", "hotel_no_deposit", "rental_deposit_waiver",
             "points_redemption", "fewer_documents", "priority_service", "car_repair_discount",
             "scenic_discount"}


def scoring_fields(**changes):
    fields = dict(seed_notices()[0])
    fields.pop("purpose")
    fields.update(changes)
    return fields


def test_the_catalogue_seeds_scoring_and_one_notice_per_scenario_in_both_languages():
    seeded = seed_notices()
    assert seeded[0]["purpose"] == "scoring"
    assert set(SCENARIO_CODES) == SCENARIOS
    assert {n["purpose"].split(":", 1)[1] for n in seeded[1:]} == SCENARIOS
    for notice in seeded:
        assert notice["text_zh"] and notice["text_en"] and notice["title_zh"]
        assert "。" in notice["text_zh"] and notice["text_en"].isascii()


def test_every_scenario_needs_separate_consent_and_scoring_only_for_the_sensitive_category():
    seeded = {n["purpose"]: n for n in seed_notices()}
    assert all(n["requires_separate_consent"] for p, n in seeded.items() if p != "scoring")
    assert seeded["scoring"]["requires_separate_consent"] is False
    assert seeded["scoring"]["separate_consent_categories"] == ["scenario_performance"]
    assert {"kind": "hospital", "name_zh": "合作医院", "name_en": "Partner hospitals"} in \
        seeded["scenario:medical_credit"]["recipients"]


def test_the_hash_covers_the_exact_text_and_is_reproducible():
    one = build(purpose="scoring", version=1, published_at=AT, **scoring_fields())
    again = build(purpose="scoring", version=1, published_at=AT, **scoring_fields())
    edited = build(purpose="scoring", version=1, published_at=AT,
                   **scoring_fields(text_en=scoring_fields()["text_en"] + " "))
    assert one["hash"] == again["hash"] == notice_hash(document(one))
    assert edited["hash"] != one["hash"]
    assert one["id"] == again["id"]  # seeded ids are stable across installs


def test_a_wording_change_is_not_material_but_categories_or_recipients_are():
    old = build(purpose="scoring", version=1, published_at=AT, **scoring_fields())
    reworded = build(purpose="scoring", version=2, published_at=AT,
                     **scoring_fields(text_zh="新的措辞"))
    fewer = build(purpose="scoring", version=2, published_at=AT,
                  **scoring_fields(categories=sorted(CORE | {"utilities"}),
                                   separate_consent_categories=[]))
    shared = build(purpose="scoring", version=2, published_at=AT,
                   **scoring_fields(recipients=[{"kind": "merchant", "name_zh": "商户",
                                                 "name_en": "Merchants"}]))
    assert not is_material(old, reworded)
    assert is_material(old, fewer)
    assert is_material(old, shared)


@pytest.mark.parametrize("purpose, fields", [
    ("marketing", {}),
    ("scoring", {"categories": ["religion"]}),
    ("scoring", {"categories": ["utilities"], "separate_consent_categories": []}),  # no core
    ("scoring", {"separate_consent_categories": ["tax"], "categories": ["utilities"]}),
    ("scoring", {"text_en": "  "}),
    ("scoring", {"retention": ""}),
    ("scoring", {"recipients": [{"kind": "merchant"}]}),
    ("scoring", {"validity_days": 0}),
    ("scoring", {"surprise": 1}),
    ("scenario:bus_discount", {"categories": []}),  # no recipients, no separate consent
])
def test_a_notice_with_an_unknown_purpose_or_category_is_refused(purpose, fields):
    with pytest.raises(InvalidInput):
        build(purpose=purpose, version=1, published_at=AT, **scoring_fields(**fields))
