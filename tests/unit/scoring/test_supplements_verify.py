"""`pengcheng score --verify` after issue 23: a score stored before it, with
``unused_categories`` as ``[{code, name}]`` (core categories among them), still verifies — the
shape changed, not the categories left out; a changed list is still caught."""

from __future__ import annotations

import math
import uuid
from types import SimpleNamespace

from core.registry import CATEGORIES
from scoring.explain import canonical_inputs, inputs_hash, recompute
from scoring.features import from_epoch, to_epoch
from scoring.integrity import differences

from .conftest import AS_OF

CONSENTED = ["public_credit", "utilities", "volunteer"]  # judicial, tax… were left out then


def _legacy_row(model, unused=None):
    values = [3.0 if f.category in CONSENTED else math.nan for f in model.features]
    inputs = canonical_inputs(model, values, CONSENTED, to_epoch(AS_OF))
    explanation = recompute(model, inputs)
    explanation["unused_categories"] = unused if unused is not None else [
        {"code": c, "name": CATEGORIES[c].name_zh}
        for c in CATEGORIES if c in model.category_codes and c not in CONSENTED]
    return SimpleNamespace(
        id=uuid.uuid4(), model_id=model.id, score=explanation["score"], tier=explanation["tier"],
        computed_at=from_epoch(to_epoch(AS_OF)), inputs=inputs, inputs_hash=inputs_hash(inputs),
        explanation=explanation)


def test_a_score_stored_before_the_split_still_verifies(model):
    row = _legacy_row(model)
    assert {"judicial", "tax"} <= {u["code"] for u in row.explanation["unused_categories"]}
    assert differences(model, row) is None


def test_a_changed_legacy_list_is_still_caught(model):
    row = _legacy_row(model, unused=[{"code": "rental", "name": "租赁"}])
    assert differences(model, row).differs == ("explanation.unused_categories",)
    forged = _legacy_row(model, unused=[{"category": "rental", "name": {"zh": "租赁"},
                                         "max_points": 45}])
    assert differences(model, forged).differs == ("explanation.unused_categories",)
