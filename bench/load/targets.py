"""Issue 26's targets 1-3, computed from one `bench/load/run.py` run's figures.

`run.py` appends this table to its Markdown output and its JSON (`targets`), so the ratios the
issue asks for are printed by the bench, not worked out by hand:

1. each partner write's requests/s ÷ its floor's (≥ 0.6), judged on the median of the run's
   comparable readings (the first pass, then each round of `--rounds`, where the write runs
   right after its floor); a reading where either side answered anything but 2xx is not
   comparable and not counted (a floor that ran out of single-use tokens answers errors,
   which are cheaper, and flatters itself);
2. the open loop at half capacity: p99 < 50 ms for the partner writes, < 100 ms for the
   resident reads, the offered rate kept (≥ 99 %) and nothing but 2xx;
3. server CPU per request ÷ the bare endpoint's: score read ≤ 4, token issue ≤ 6, judged on the
   median of the rounds of `run.py --interleave` (`bench/load/interleave.py`: the bare endpoint
   and the reads served at once and loaded in turn, each round's ratio of slices seconds
   apart). Without that measurement (an earlier run's figures), on the median of the run's
   one-after-the-other readings (the first: ÷ the mean of the bare endpoint's first and last runs;
   each further round of `--rounds`: ÷ the mean of the bare runs just before and after it);
   with it, that median is shown beside, unjudged. Beside them, for reference only: their
   floors (what any implementation costs), the floor plus Flask's own cost (the bare Flask
   endpoint's CPU less the framework-free one's: what any Flask implementation costs), and the
   ratio at half capacity (the open loop: each endpoint at half its requests/s, the bare
   endpoint at half its own). The references are medians too when the rounds measured them
   (`run.py --floor`; the floor plus Flask is its floor's median plus Flask's own cost over the
   bare endpoint's); the token issue's have a second one, the least code
   (`floor.token_issue_minimal`: the same statements, round trips, signature and QR on the bare
   drivers).

Figures saved by an earlier run (its JSON, printed last on stdout) can be read again:

    .venv/bin/python bench/load/targets.py run.json
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any

WRITES = ("introspect", "authorize", "capture", "redeem")
READS = {"score": 4.0, "token_issue": 6.0}  # target 3: server CPU × bare, at most
P99_MS = {**dict.fromkeys(WRITES, 50.0), **dict.fromkeys(READS, 100.0)}  # target 2
FLOOR_SHARE = 0.6  # target 1


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per reading: target, endpoint, figure, limit, met (None: invalid), note."""
    results, rows = figures["results"], []
    for name in WRITES:
        real, floor = results.get(name), results.get(f"{name}_floor")
        if real is None or floor is None:
            continue
        readings = [(real["requests_per_s"], floor["requests_per_s"],
                     real["non_2xx"] + floor["non_2xx"])]
        readings += [(w["requests_per_s"], w["floor_requests_per_s"], w["non_2xx"])
                     for w in (r["writes"].get(name) for r in figures.get("rounds", []))
                     if w is not None]
        shares = [rps / max(1, floor_rps) for rps, floor_rps, errors in readings if not errors]
        errors = sum(e for _, _, e in readings)
        if not shares:
            rows.append(_row(1, name, round(readings[0][0] / max(1, readings[0][1]), 3),
                             f">= {FLOOR_SHARE}", None, f"{errors} non-2xx: not comparable"))
            continue
        middle = statistics.median(shares)
        first = readings[0]
        rows.append(_row(1, name, round(middle, 3), f">= {FLOOR_SHARE}", middle >= FLOOR_SHARE,
                         f"median of {len(shares)}: " + ", ".join(f"{x:.3f}" for x in shares)
                         + (f" ({len(readings) - len(shares)} not comparable: {errors} non-2xx)"
                            if len(shares) < len(readings) else "")
                         + f" (the first {first[0]:,} / {first[1]:,} req/s)"))
    for name, r in (figures.get("open_loop") or {}).items():
        if name not in P99_MS:
            continue
        kept = r["achieved_per_s"] >= 0.99 * r["offered_per_s"]
        met = r["p99_ms"] < P99_MS[name] and kept and not r["non_2xx"]
        rows.append(_row(2, name, r["p99_ms"], f"< {P99_MS[name]:.0f} ms", met,
                         f"{r['achieved_per_s']} of {r['offered_per_s']} /s, "
                         f"{r['non_2xx']} non-2xx, machine {r['machine_busy_pct']} % busy"))
    bare = [_server(results[b]) for b in ("bare", "bare_again") if b in results]
    if bare:
        rows += _reads(figures, sum(bare) / len(bare))
    return rows


def _server(result: dict[str, Any]) -> float:
    cpu: float = result["cpu_ms_per_request"]["server"]
    return cpu


def _reads(figures: dict[str, Any], unit: float) -> list[dict[str, Any]]:
    """Target 3's rows: each read's median ratio, judged, then its references."""
    results, rows = figures["results"], []
    opened = figures.get("open_loop") or {}
    for name, limit in READS.items():
        if name not in results:
            continue
        cpu = _server(results[name])
        readings = _ratios(figures, name, unit)
        middle = statistics.median(readings)
        sequential = _listed(readings) + f" (the first {cpu:.2f} ms ÷ bare {unit:.2f} ms)"
        turns = figures.get("interleaved")
        in_turns = _turn_ratios(turns, name) if turns and name in turns["slices"] else []
        if in_turns:
            judged = statistics.median(in_turns)
            rows.append(_row(3, name, round(judged, 2), f"<= {limit:.0f}x", judged <= limit,
                             f"interleaved with bare, {turns['slice_s']:g} s slices: "
                             + _listed(in_turns)
                             + f"; pooled {_pooled(turns, name):.2f}"))
            rows.append(_row(3, f"{name}, one after the other", round(middle, 2),
                             "(each in its own run)", None, sequential))
        else:
            rows.append(_row(3, name, round(middle, 2), f"<= {limit:.0f}x", middle <= limit,
                             sequential))
        for reference, label in ((f"{name}_floor", "(its floor)"),
                                 (f"{name}_minimal", "(the least code)")):
            if reference not in results:
                continue
            ratios = _ratios(figures, reference, unit)
            rows.append(_row(3, reference, round(statistics.median(ratios), 2), label, None,
                             _listed(ratios) + f" (the first {_server(results[reference]):.2f}"
                             f" ms ÷ bare {unit:.2f} ms)"))
        if f"{name}_floor" in results and "wsgi_bare" in results:
            floor = statistics.median(_ratios(figures, f"{name}_floor", unit))
            flask = unit - _server(results["wsgi_bare"])
            rows.append(_row(3, f"{name}_floor + Flask", round(floor + flask / unit, 2),
                             "(any Flask app)", None,
                             f"its floor's median {floor:.2f} + Flask's own {flask:.2f} ms "
                             f"(bare less wsgi_bare) ÷ bare {unit:.2f} ms"))
        if name in opened and "cpu_ms_per_request" in opened[name] and "bare" in opened:
            half = _server(opened[name]) / _server(opened["bare"])
            rows.append(_row(3, f"{name} at half capacity", round(half, 2), "(open loop)", None,
                             f"{_server(opened[name]):.2f} ms ÷ bare "
                             f"{_server(opened['bare']):.2f} ms, each at half its requests/s"))
    return rows


def _ratios(figures: dict[str, Any], name: str, unit: float) -> list[float]:
    """`name`'s server CPU ÷ the bare endpoint's: the first pass (÷ `unit`), then each round
    that measured it (÷ the mean of the bare runs just before and after it)."""
    return [_server(figures["results"][name]) / unit] + [
        r["server_cpu"][name] / ((r["bare_before"] + r["bare_after"]) / 2)
        for r in figures.get("rounds", []) if name in r["server_cpu"]]


def _per_request(slice_: dict[str, float]) -> float:
    return slice_["server_ms"] / max(1, slice_["requests"])


def _comparable(turns: dict[str, Any], name: str) -> list[tuple[dict[str, float],
                                                                dict[str, float]]]:
    """`name`'s slice and the bare endpoint's, round by round of `interleave.run` (the slices
    of a round are seconds apart); a round where either answered anything but 2xx is left out
    (errors are cheaper, and would flatter)."""
    return [(a, b) for a, b in zip(turns["slices"][name], turns["slices"]["bare"], strict=True)
            if not a["non_2xx"] and not b["non_2xx"]]


def _turn_ratios(turns: dict[str, Any], name: str) -> list[float]:
    """`name`'s server CPU per request ÷ the bare endpoint's, round by comparable round."""
    return [_per_request(a) / _per_request(b) for a, b in _comparable(turns, name)]


def _pooled(turns: dict[str, Any], name: str) -> float:
    """`name`'s server CPU per request over its comparable rounds ÷ the bare endpoint's over
    the same rounds."""
    def mean(slices: list[dict[str, float]]) -> float:
        return sum(s["server_ms"] for s in slices) / max(1, sum(s["requests"] for s in slices))
    pairs = _comparable(turns, name)
    return mean([a for a, _ in pairs]) / mean([b for _, b in pairs])


def _listed(readings: list[float]) -> str:
    return f"median of {len(readings)}: " + ", ".join(f"{x:.2f}" for x in readings)


def _row(target: int, endpoint: str, figure: float, limit: str, met: bool | None,
         note: str) -> dict[str, Any]:
    return {"target": target, "endpoint": endpoint, "figure": figure, "limit": limit,
            "met": met, "note": note}


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (a floor's row has no verdict: it is the reference)."""
    if not rows:
        return ""
    out = ["", "Issue 26's targets from this run (`bench/load/targets.py`):", "",
           "| target | endpoint | figure | limit | met | |", "|---|---|---:|---|---|---|"]
    for r in rows:
        verdict = {True: "**met**", False: "**missed**", None: "—"}[r["met"]]
        out.append(f"| {r['target']} | {r['endpoint']} | {r['figure']} | {r['limit']} "
                   f"| {verdict} | {r['note']} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(markdown(targets(json.load(f))))
