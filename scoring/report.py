"""A self-contained HTML validation report with inline SVG plots (no network, no CDN).

`write_report(path, ...)` computes the metrics of `scoring.validation` and writes one HTML file:
headline metrics, score histogram, bad rate by score band, ROC curve, and tables of the score
distribution by district and age band. A reviewer opens it in any browser.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring.validation import (
    default_rate_by_band,
    distribution_by_group,
    summary,
)

_W, _H, _PAD = 560, 260, 40


def _bars(labels: Sequence[str], values: Sequence[float], title: str, fmt: str = "{:.0f}",
          color: str = "#2f6fb0") -> str:
    n = max(1, len(values))
    top = max(max(values, default=0.0), 1e-12)
    bw = (_W - 2 * _PAD) / n
    parts = [f'<svg width="{_W}" height="{_H}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{_PAD}" y="16" font-size="13">{html.escape(title)}</text>']
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        h = (_H - 2 * _PAD) * v / top
        x = _PAD + i * bw
        y = _H - _PAD - h
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" '
                     f'fill="{color}"><title>{html.escape(lab)}: {fmt.format(v)}</title></rect>')
        if n <= 20 or i % max(1, n // 10) == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{_H - _PAD + 14}" font-size="9" '
                         f'text-anchor="middle">{html.escape(lab)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _roc_svg(scores: np.ndarray, bad: np.ndarray, title: str) -> str:
    s = np.asarray(scores, dtype=np.float64)
    b = np.asarray(bad, dtype=bool)
    order = np.argsort(s, kind="mergesort")  # lowest scores first = flagged first
    tpr = np.concatenate(([0.0], np.cumsum(b[order]) / max(1, b.sum())))
    fpr = np.concatenate(([0.0], np.cumsum(~b[order]) / max(1, (~b).sum())))
    pick = np.linspace(0, tpr.size - 1, min(200, tpr.size)).astype(int)
    size = _H - 2 * _PAD
    pts = " ".join(f"{_PAD + fpr[i] * size:.1f},{_H - _PAD - tpr[i] * size:.1f}" for i in pick)
    return (f'<svg width="{_W}" height="{_H}" role="img" aria-label="ROC">'
            f'<text x="{_PAD}" y="16" font-size="13">{html.escape(title)}</text>'
            f'<rect x="{_PAD}" y="{_PAD}" width="{size}" height="{size}" fill="none" '
            f'stroke="#999"/><line x1="{_PAD}" y1="{_H - _PAD}" x2="{_PAD + size}" y2="{_PAD}" '
            f'stroke="#ccc" stroke-dasharray="4"/>'
            f'<polyline points="{pts}" fill="none" stroke="#c0392b" stroke-width="2"/></svg>')


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(scores: np.ndarray, bad: np.ndarray, *, model_id: str,
                  districts: Sequence[str] | np.ndarray | None = None,
                  age_bands: Sequence[str] | np.ndarray | None = None,
                  previous: np.ndarray | None = None,
                  tier_mins: Sequence[tuple[str, int]] | None = None) -> tuple[str, dict]:
    """(html, metrics) for a scored, labelled population."""
    scores = np.asarray(scores)
    metrics = summary(scores, bad, previous=previous)
    hist, edges = np.histogram(scores, bins=np.arange(0, 1001, 25))
    keep = np.flatnonzero(hist)
    lo_i, hi_i = (keep[0], keep[-1] + 1) if keep.size else (0, len(hist))
    bands = default_rate_by_band(scores, bad)
    sections = [
        f"<h1>鹏城分 validation report — {html.escape(model_id)}</h1>",
        "<p>" + " · ".join(
            f"<b>{k}</b> {metrics[k]:.4f}" for k in ("ks", "auc", "gini", "bad_rate")
        ) + f" · <b>n</b> {metrics['n']}"
        + (f" · <b>PSI vs previous run</b> {metrics['psi']:.4f}" if "psi" in metrics else "")
        + f" · <b>bad rate falls with score</b> {metrics['monotonicity']['monotonic']}</p>",
        _bars([str(int(e)) for e in edges[lo_i:hi_i]], hist[lo_i:hi_i].tolist(),
              "Score distribution (25-point bins)"),
        _bars([r["band"] for r in bands], [r["bad_rate"] for r in bands],
              "Bad rate by score band", fmt="{:.3f}", color="#c0392b"),
        _roc_svg(scores, bad, f"ROC (AUC {metrics['auc']:.3f})"),
        _table(bands, ["band", "count", "bad_rate"]),
    ]
    metrics["by_district"] = metrics["by_age_band"] = None
    cols = ["group", "count", "mean", "p10", "p50", "p90", "tiers"]
    for key, title, groups in (("by_district", "By district", districts),
                               ("by_age_band", "By age band", age_bands)):
        if groups is not None:
            rows = distribution_by_group(scores, groups, tier_mins)
            metrics[key] = rows
            sections.append(f"<h2>{title}</h2>")
            sections.append(_bars([r["group"] for r in rows], [r["mean"] for r in rows],
                                  f"Mean score {title.lower()}"))
            sections.append(_table(rows, cols))
    style = ("body{font-family:sans-serif;max-width:900px;margin:auto}table{border-collapse:"
             "collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}")
    page = ("<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
            f"<title>{html.escape(model_id)} validation</title><style>{style}</style></head>"
            f"<body>{''.join(sections)}</body></html>")
    return page, metrics


def write_report(path: str | Path, scores: np.ndarray, bad: np.ndarray, **kwargs: Any) -> dict:
    """Write the HTML report to ``path``; returns the metrics it shows."""
    page, metrics = render_report(scores, bad, **kwargs)
    Path(path).write_text(page, encoding="utf-8")
    return metrics
