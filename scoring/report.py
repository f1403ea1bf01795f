"""A self-contained HTML validation report a credit office can read and sign.

`write_report(path, scores, bad, ...)` computes the metrics of `scoring.validation` and writes
one HTML file: the headline metrics (rounded), the PSI against a stored baseline, plots drawn by
matplotlib (Agg, inlined as SVG: no network, no CDN) — the score distribution by tier, the ROC
curve (whole and per district), the bad rate by score band, calibration by group — and per
grouping (district by name, age band, supplements added; the registry holds no sex) a table of
the score distribution with every tier's share and the outcome metrics: bad rate, AUC and
calibration gap. The report names the groups whose AUC or calibration departs most from the
whole, and by how much. Plot labels are ASCII (district names in pinyin): the Chinese names
are in the tables, which the browser renders.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

from scoring.validation import (  # noqa: E402
    DEFAULT_BANDS,
    default_rate_by_band,
    departures,
    district_name,
    group_metrics,
    summary,
)

GROUPINGS = (("by_district", "district", "By district"),
             ("by_age_band", "age_band", "By age band"),
             ("by_supplements", "supplements", "By number of supplements added"))
TIER_COLORS = ("#b03a2e", "#d68910", "#2e86c1", "#239b56", "#6c3483")  # lowest tier first
_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def _svg(fig: Any) -> str:
    """The figure as inline SVG: text kept as text, no XML prologue or namespace URLs (an HTML
    parser needs neither), the same bytes for the same figure."""
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pengcheng"}):
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(fig)
    return _XMLNS.sub("", _SVG_HEAD.sub("", buf.getvalue(), count=1))


def _ascii(label: str) -> str:
    """A label for a plot: the pinyin part of "福田区 Futian", else the label."""
    return label.rsplit(" ", 1)[-1] if not label.isascii() else label


def _tier_plot(scores: np.ndarray, tier_mins: Sequence[tuple[str, int]]) -> str:
    tiers = sorted(tier_mins, key=lambda t: t[1])
    edges = list(range(0, 1001, 25))
    fig, ax = plt.subplots(figsize=(7, 3))
    for i, (code, lo) in enumerate(tiers):
        hi = tiers[i + 1][1] if i + 1 < len(tiers) else 1001
        part = scores[(scores >= lo) & (scores < hi)]
        ax.hist(part, bins=edges, color=TIER_COLORS[i % len(TIER_COLORS)],
                label=f"{code} ({len(part) / max(1, len(scores)):.1%})")
    lo_, hi_ = (np.percentile(scores, [0.5, 99.5]) if len(scores) else (0, 1000))
    ax.set_xlim(max(0, lo_ - 50), min(1000, hi_ + 50))
    ax.set(title="Score distribution by tier", xlabel="score", ylabel="residents")
    ax.legend(fontsize=8)
    return _svg(fig)


def _roc(scores: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(scores, kind="mergesort")  # lowest scores first = flagged first
    tpr = np.concatenate(([0.0], np.cumsum(bad[order]) / max(1, bad.sum())))
    fpr = np.concatenate(([0.0], np.cumsum(~bad[order]) / max(1, (~bad).sum())))
    return fpr, tpr


def _roc_plot(scores: np.ndarray, bad: np.ndarray, whole_auc: float,
              groups: np.ndarray | None, rows: list[dict[str, Any]]) -> str:
    fig, ax = plt.subplots(figsize=(5, 5))
    if groups is not None:
        for r in rows:
            if r.get("auc") is None:
                continue
            hit = groups == r["group"]
            ax.plot(*_roc(scores[hit], bad[hit]), lw=0.8, alpha=0.7,
                    label=f"{_ascii(r['group'])} {r['auc']:.3f}")
    ax.plot(*_roc(scores, bad), color="black", lw=2.2, label=f"all {whole_auc:.3f}")
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=0.8)
    ax.set(title="ROC (bad = default), AUC by district", xlabel="share of goods flagged",
           ylabel="share of bads flagged", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


def _band_plot(bands: list[dict[str, Any]]) -> str:
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.bar([r["band"] for r in bands], [100 * r["bad_rate"] for r in bands], color="#c0392b")
    ax.set(title="Bad rate by score band (%)", ylabel="%")
    ax.tick_params(axis="x", labelsize=7)
    return _svg(fig)


def _calibration_plot(title: str, rows: list[dict[str, Any]],
                      whole: list[dict[str, Any]]) -> str:
    at = {w["lo"]: i for i, w in enumerate(whole)}  # bands side by side, whatever their width
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for r in rows:
        if r.get("suppressed") or not r.get("calibration"):
            continue
        cal = r["calibration"]
        ax.plot([at[c["lo"]] for c in cal], [100 * c["observed"] for c in cal], marker=".",
                lw=0.9, label=_ascii(r["group"]))
    ax.plot(range(len(whole)), [100 * w["bad_rate"] for w in whole], color="black", lw=2.2,
            ls="--", label="predicted (all)")
    ax.set_xticks(range(len(whole)), [w["band"] for w in whole], fontsize=7)
    ax.set(title=f"Calibration {title.lower()}: observed vs predicted bad rate",
           xlabel="score band", ylabel="bad rate %")
    ax.legend(fontsize=7, ncol=2)
    return _svg(fig)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _tiers_cell(shares: dict[str, float] | None) -> str:
    return "" if not shares else " · ".join(f"{k} {_pct(v)}" for k, v in shares.items())


def _table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(key, r))}</td>"
                                    for key, _ in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(key: str, row: dict[str, Any]) -> str:
    if row.get("suppressed") and key not in ("group", "count"):
        return "(fewer than the minimum: not shown)" if key == "mean" else ""
    value = row.get(key)
    if key == "tiers":
        return _tiers_cell(value)
    if key in ("bad_rate", "calibration_gap"):
        return _pct(value)
    if key == "auc":
        return _num(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return "" if value is None else str(value)


GROUP_COLUMNS = (("group", "group"), ("count", "residents"), ("mean", "mean"), ("p10", "p10"),
                 ("p50", "median"), ("p90", "p90"), ("tiers", "share by tier"),
                 ("bad_rate", "bad rate"), ("auc", "AUC"),
                 ("calibration_gap", "calibration gap"))


GROUPING_NAMES = {"district": "district", "age_band": "age band",
                  "supplements": "supplements added"}


def _departure_text(found: dict[str, list[dict[str, Any]]], whole_auc: float) -> str:
    def who(d: dict[str, Any]) -> str:
        return (f"{GROUPING_NAMES[d['grouping']]} <b>{html.escape(d['group'])}</b> "
                f"({d['count']} residents)")

    items = [f"<li>AUC: {who(d)} {d['value']:.3f} against {whole_auc:.3f} for all, "
             f"{d['by']:+.3f} (standard error of the group's AUC {d['se']:.3f}"
             f"{'' if abs(d['by']) > 2 * d['se'] else ': within chance'})</li>"
             for d in found["auc"]]
    items += [f"<li>Calibration: {who(d)}: its observed bad rate differs from the predicted one "
              f"by {100 * d['value']:.1f} percentage points on average over its score bands"
              f"</li>" for d in found["calibration"]]
    return ("<p>The two groups of each grouping (of at least 100 residents) that depart most "
            "from the whole:</p><ul>" + "".join(items) + "</ul>" if items
            else "<p>No group is large enough to compare.</p>")


def render_report(scores: np.ndarray, bad: np.ndarray, *, model_id: str,
                  tier_mins: Sequence[tuple[str, int]],
                  districts: Sequence[str] | np.ndarray | None = None,
                  age_bands: Sequence[str] | np.ndarray | None = None,
                  supplements: Sequence[str] | np.ndarray | None = None,
                  previous: np.ndarray | None = None, baseline: dict[str, Any] | None = None,
                  population: str = "", min_group: int = 30) -> tuple[str, dict[str, Any]]:
    """(html, metrics) for a scored, labelled population. `baseline` is the stored baseline's
    PSI reading (`scoring.monitor.against_baseline`), `previous` another run's scores."""
    s = np.asarray(scores, dtype=np.float64)
    b = np.asarray(bad, dtype=bool)
    metrics = summary(s, b, previous=previous)
    metrics.update({k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)})
    bands = default_rate_by_band(s, b)
    labels = {"district": None if districts is None
              else np.array([district_name(str(d)) for d in districts]),
              "age_band": None if age_bands is None else np.asarray(age_bands).astype(str),
              "supplements": None if supplements is None else np.asarray(supplements).astype(str)}
    groupings = {name: group_metrics(s, b, found, tier_mins=tier_mins, min_group=min_group)
                 for name, found in labels.items() if found is not None}
    metrics["departures"] = departures(groupings, metrics["auc"])
    metrics["baseline"] = baseline
    psi_line = ""
    if baseline is not None:
        psi_line = (f" · <b>PSI vs stored baseline</b> {baseline['psi']:.3f} "
                    f"({baseline['reading']}; stored {html.escape(baseline['stored_at'][:10])}"
                    f"{', now' if baseline['stored_now'] else ''})")
    if "psi" in metrics:
        psi_line += f" · <b>PSI vs previous run</b> {metrics['psi']:.3f}"
    sections = [
        f"<h1>鹏城分 validation report — {html.escape(model_id)}</h1>",
        f"<p>{html.escape(population)}</p>" if population else "",
        f"<p><b>residents</b> {metrics['n']} · <b>bad rate</b> {_pct(metrics['bad_rate'])} · "
        f"<b>AUC</b> {metrics['auc']:.3f} · <b>Gini</b> {metrics['gini']:.3f} · "
        f"<b>KS</b> {metrics['ks']:.3f} · <b>bad rate falls with score</b> "
        f"{'yes' if metrics['monotonicity']['monotonic'] else 'no'}{psi_line}</p>",
        "<h2>Where groups depart from the whole</h2>",
        _departure_text(metrics["departures"], metrics["auc"]),
        _tier_plot(s, tier_mins),
        _roc_plot(s, b, metrics["auc"], labels["district"], groupings.get("district", [])),
        _band_plot(bands),
        _table([{**r, "bad_rate": r["bad_rate"]} for r in bands],
               (("band", "score band"), ("count", "residents"), ("bad_rate", "bad rate"))),
    ]
    for key, name, title in GROUPINGS:
        rows = groupings.get(name)
        metrics[key] = rows
        if rows is None:
            continue
        sections += [f"<h2>{title}</h2>", _calibration_plot(title, rows, bands),
                     _table(rows, GROUP_COLUMNS)]
    sections.append("<h2>By sex</h2><p>The registry holds no sex: not grouped.</p>")
    style = ("body{font-family:sans-serif;max-width:960px;margin:auto}table{border-collapse:"
             "collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;"
             "text-align:right}td:first-child{text-align:left}svg{max-width:100%;height:auto}")
    page = ("<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
            f"<title>{html.escape(model_id)} validation</title><style>{style}</style></head>"
            f"<body>{''.join(sections)}</body></html>")
    return page, metrics


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The summary a model card shows: the headline numbers and the departures."""
    keep = ("n", "bad_rate", "auc", "gini", "ks")
    return {**{k: metrics[k] for k in keep}, "monotonic": metrics["monotonicity"]["monotonic"],
            "departures": metrics["departures"],
            "psi_vs_baseline": (metrics.get("baseline") or {}).get("psi"),
            "bands": list(DEFAULT_BANDS)}


def write_report(path: str | Path, scores: np.ndarray, bad: np.ndarray,
                 **kwargs: Any) -> dict[str, Any]:
    """Write the HTML report to ``path``; returns the metrics it shows."""
    page, metrics = render_report(scores, bad, **kwargs)
    Path(path).write_text(page, encoding="utf-8")
    return metrics
