#!/usr/bin/env python3
"""Recompute 鹏城分 scores from a resident's data export and the published model spec.

Python 3.9+ standard library only: nothing of the 鹏城分 code is needed (docs/model-card.md,
"Recompute a score yourself").

    curl -o spec.json 'https://<host>/api/v1/model/spec?model=pengcheng-v2'
    python3 recompute_score.py export.json spec.json

For every score in the export computed with that spec it checks that
1. the spec is the exact text the score names: SHA-256 of its canonical JSON = `model_hash`;
2. the stored inputs are the ones the score names: SHA-256 of their canonical JSON =
   `inputs_hash`;
3. the score is what the spec makes of the inputs: base points plus, per feature, the points
   of the bin its value falls in (bin = how many edges are <= the value), or the feature's
   `unknown_points` when its value is null (a supplement the resident did not add);
and prints one JSON line per score. The exit status is 1 if any score does not recompute.
"""

import bisect
import hashlib
import json
import sys


def canonical(obj):
    """The canonical JSON bytes every 鹏城分 hash is taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256(obj):
    return hashlib.sha256(canonical(obj)).hexdigest()


def score(spec, features):
    """The score and tier the spec gives a feature vector ({code: value or None})."""
    total = spec["base_points"]
    for f in spec["features"]:
        value = features[f["code"]]
        if value is None:
            total += f["unknown_points"]
        else:
            total += f["points"][bisect.bisect_right(f["bins"], value)]
    tier = min(spec["tiers"], key=lambda t: t["min"])
    for t in spec["tiers"]:
        if t["min"] <= total and t["min"] >= tier["min"]:
            tier = t
    return total, tier["code"]


def main(export_path, spec_path):
    with open(export_path, encoding="utf-8") as fh:
        export = json.load(fh)
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    spec_digest = sha256(spec)
    failures = 0
    for stored in export["scores"]:
        inputs = stored["inputs"]
        if inputs["model"] != spec["id"]:
            continue
        total, tier = score(spec, inputs["features"])
        ok = (inputs["model_hash"] == spec_digest
              and sha256(inputs) == stored["inputs_hash"]
              and total == stored["score"] and tier == stored["tier"])
        failures += not ok
        print(json.dumps({"id": stored["id"], "stored": stored["score"], "recomputed": total,
                          "tier": tier, "ok": ok}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
