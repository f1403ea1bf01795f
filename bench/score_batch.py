"""Benchmark: batch scoring with top-4 reasons on synthetic residents, against optbinning.

    .venv/bin/python bench/score_batch.py [--residents 1000000] [--threads 2] [--no-peer]

Stages (figures printed as they finish):
1. synthetic records → feature matrix (chunks of 100k residents; `compute_features`);
2. `score_batch` (scores, bins, points, top-4 reasons) on the feature matrix — best of 3,
   single-threaded and with ``--threads``; peak extra memory by tracemalloc vs the matrix size;
3. optbinning's `Scorecard.score` with the same bins and points on the same matrix (the ratio),
   and a check that both give identical scores.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import compute_features, load_model, score_batch  # noqa: E402
from scoring.features import to_epoch  # noqa: E402
from scoring.synthetic import AS_OF, generate_batch, generate_people  # noqa: E402


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=100_000, help="residents per generation chunk")
    ap.add_argument("--no-peer", action="store_true", help="skip optbinning")
    args = ap.parse_args()
    n = args.residents
    model = load_model("pengcheng-v1")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores, numpy {np.__version__}, "
          f"python {platform.python_version()}")
    print(f"model {model.id}: {len(model.features)} features; residents {n:,}")

    as_of = to_epoch(AS_OF)
    people = generate_people(n, seed=42)
    x = np.empty((n, len(model.features)))
    gen_s = feat_s = 0.0
    n_records = 0
    for lo in range(0, n, args.chunk):
        hi = min(n, lo + args.chunk)
        t0 = time.perf_counter()
        batch = generate_batch(people, seed=42, lo=lo, hi=hi, statuses=True)
        t1 = time.perf_counter()
        x[lo:hi] = compute_features(model, batch, people.consent[lo:hi], as_of)
        t2 = time.perf_counter()
        gen_s, feat_s, n_records = gen_s + t1 - t0, feat_s + t2 - t1, n_records + len(batch)
        del batch
    print(f"records: {n_records:,} ({n_records / n:.1f}/resident) generated in {gen_s:.1f} s")
    print(f"features from records: {feat_s:.2f} s = {n / feat_s / 1e6:.2f} M residents/s "
          f"({n_records / feat_s / 1e6:.1f} M records/s)")
    mb = x.nbytes / 2**20
    print(f"feature matrix: {x.shape[0]:,} x {x.shape[1]} float64 = {mb:.0f} MiB")

    results = {}
    for threads in sorted({1, args.threads}):
        secs, out = _best(lambda t=threads: score_batch(model, x, threads=t))
        results[threads] = (secs, out)
        print(f"score + top-4 reasons, {threads} thread(s): {secs * 1e3:.0f} ms = "
              f"{n / secs / 1e6:.2f} M residents/s")
    tracemalloc.start()
    score_batch(model, x, threads=args.threads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak extra memory while scoring (tracemalloc, outputs included): "
          f"{peak / 2**20:.0f} MiB = {peak / x.nbytes:.2f} x the feature matrix")
    scores = results[args.threads][1].scores  # type: ignore[union-attr]
    print("score percentiles 1/5/50/95/99:", np.percentile(scores, [1, 5, 50, 95, 99]).tolist())

    if not args.no_peer:
        try:
            from scoring.peer import optbinning_scorecard, optbinning_scores
        except ImportError:
            print("optbinning not installed: peer skipped")
        else:
            card = optbinning_scorecard(model)
            tracemalloc.start()
            t0 = time.perf_counter()
            theirs = optbinning_scores(card, model, x)
            peer_s = time.perf_counter() - t0
            _, peer_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            ours_s = results[args.threads][0]
            same = bool(np.array_equal(theirs, scores.astype(float)))
            print(f"optbinning Scorecard.score (scores only): {peer_s:.2f} s = "
                  f"{n / peer_s / 1e6:.2f} M residents/s, peak extra {peer_peak / 2**20:.0f} MiB;"
                  f" ours is {peer_s / ours_s:.1f}x faster; identical scores: {same}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
