"""`bench/load/interleave.py` loads each endpoint in turn, the order reversed every other round,
after one unmeasured slice each, and keeps each slice's figures apart."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.load import interleave


def test_each_endpoint_is_loaded_in_turn_the_order_reversed_every_other_round() -> None:
    calls: list[tuple[int, str]] = []

    def load(port: int, requests: Path, *, connections: int, seconds: float) -> dict[str, Any]:
        calls.append((port, requests.name))
        assert (connections, seconds) == (32, 2.0)
        return {"requests": 10 * len(calls), "non_2xx": 0}

    me = os.getpid()  # a live process, so that /proc has figures to read
    served = {name: interleave.Served(port, me, Path(name))
              for name, port in (("bare", 1), ("score", 2), ("token_issue", 2))}
    measured = interleave.run(served, rounds=3, slice_s=2.0, connections=32, load=load)
    assert [name for _, name in calls] == [
        "bare", "score", "token_issue",                                  # warm-up, unmeasured
        "bare", "score", "token_issue", "token_issue", "score", "bare",
        "bare", "score", "token_issue"]
    assert measured["order"] == ["bare", "score", "token_issue"]
    # each slice keeps its own requests (the warm-up's are not among them)
    assert [s["requests"] for s in measured["slices"]["bare"]] == [40, 90, 100]
    assert [s["requests"] for s in measured["slices"]["token_issue"]] == [60, 70, 120]
    assert all(s["server_ms"] >= 0 and s["postgres_ms"] >= 0
               for slices in measured["slices"].values() for s in slices)
