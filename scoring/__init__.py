"""鹏城分 scoring engine: records → features → points → score + explanation.

Where a thing goes:

    scoring/features.py   def publicity_seconds(severity) -> int    # a rule, plain numpy
    scoring/services.py   def current_score(uow, resident, *, now) -> ScoreView  # a use case:
                          # takes the unit of work, commits once; helpers take a `session`
    scoring/batch.py      def run(new_uow, *, now, …)  # a batch: one unit of work per chunk

Public entry points (see each module for details):

- `load_model`, `parse_model`, `validate_spec`, `spec_hash`, `ModelInvalid` — model specs;
- `RecordBatch`, `batch_from_records`, `compute_features` — features, one vectorized path;
- `score_one` (plain Python, one resident), `score_batch` (numpy, many) — points and reasons;
- `score_resident`, `explain`, `canonical_inputs`, `recompute`, `verify` — explanations;
- `scoring.validation`, `scoring.fit`, `scoring.synthetic` — metrics/report, fitting, test data;
- `RecordBatch`'s `ByType` (records grouped by type, as the batch reads them: no sort);
- `scoring.services` (use cases), `scoring.read` (the score read in one round trip when the
  stored score is current), `scoring.batch` (the batch job) and `scoring.batch_rows` (the new
  score rows it writes), `scoring.store` (tables), `scoring.monitor`, `scoring.outcomes` — the
  persistence side, on SQLAlchemy;
- `scoring.integrity` — whether a stored score is what its inputs (and, for a current one, the
  records) compute to: the read path's check and `pengcheng score --verify`'s.

Nothing here imports Flask; the engine (spec, features, engine, explain) is numpy only.
"""

from scoring.engine import BatchScores, Scored, score_batch, score_one
from scoring.explain import (
    ScoringConsentRequired,
    canonical_inputs,
    explain,
    inputs_hash,
    recompute,
    score_resident,
    verify,
)
from scoring.features import RecordBatch, batch_from_records, compute_features
from scoring.spec import Model, ModelInvalid, load_model, load_spec_text, parse_model, spec_hash
from scoring.spec_check import validate_spec

__all__ = [
    "BatchScores", "Model", "ModelInvalid", "RecordBatch", "Scored", "ScoringConsentRequired",
    "batch_from_records", "canonical_inputs", "compute_features", "explain", "inputs_hash",
    "load_model", "load_spec_text", "parse_model", "recompute", "score_batch", "score_one",
    "score_resident", "spec_hash", "validate_spec", "verify",
]
