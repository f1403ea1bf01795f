"""Cross-check with a peer: optbinning's Scorecard, given our bins and points, gives our scores."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import compute_features, score_batch
from scoring.features import to_epoch
from scoring.synthetic import generate_batch, generate_people

from .conftest import AS_OF

pytest.importorskip("optbinning")


def test_optbinning_scorecard_gives_the_same_scores(model):
    from scoring.peer import optbinning_scorecard, optbinning_scores

    people = generate_people(5_000, seed=21)
    x = compute_features(model, generate_batch(people, seed=21), people.consent,
                         to_epoch(AS_OF))
    card = optbinning_scorecard(model)
    theirs = optbinning_scores(card, model, x)
    ours = score_batch(model, x).scores
    np.testing.assert_array_equal(theirs, ours.astype(float))
