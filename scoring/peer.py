"""The same scorecard expressed in optbinning's `Scorecard`, for the cross-check and benchmark.

optbinning is a *test/bench* dependency only: it is imported inside the function, so the
engine itself stays numpy-only. A `BinningProcess` is fitted with our bin edges as fixed user
splits (optbinning bins like ours: [s(i-1), s(i)), i.e. ``bisect_right``), then the scorecard's
points table is set to our points (missing = unknown points, special = 0) and its intercept to
the base points, so ``Scorecard.score`` must reproduce our scores exactly. optbinning is fitted
on a few constructed rows that put goods and bads in every bin (it drops pure or empty bins).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scoring.spec import Model


def _training_rows(model: Model, copies: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Rows putting goods and bads in every bin (optbinning drops pure or empty bins)."""
    reps = []
    for f in model.features:
        e = list(f.edges)
        reps.append([e[0] - 1.0] + e if e else [0.0])
    n_rows = max(len(r) for r in reps) * 2 * copies
    x = np.empty((n_rows, len(reps)))
    for j, r in enumerate(reps):
        x[:, j] = np.resize(np.repeat(r, 2), n_rows)
    y = np.resize([0, 1], n_rows)
    return x, y


def optbinning_scorecard(model: Model) -> Any:
    """A fitted optbinning Scorecard carrying ``model``'s bins and points."""
    import pandas as pd
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    names = list(model.feature_codes)
    params = {
        f.code: {"user_splits": list(f.edges), "user_splits_fixed": [True] * len(f.edges),
                 "monotonic_trend": None, "min_prebin_size": 1e-6,
                 "max_n_prebins": max(2, len(f.edges) + 1)}
        for f in model.features
    }
    process = BinningProcess(names, binning_fit_params=params)
    card = Scorecard(binning_process=process, estimator=LogisticRegression(),
                     scaling_method=None, intercept_based=False)
    x, y = _training_rows(model)
    card.fit(pd.DataFrame(x, columns=names), y)
    table = card._df_scorecard  # noqa: SLF001 — we replace the fitted points with ours
    for f in model.features:
        rows = np.flatnonzero((table["Variable"] == f.code).to_numpy())
        n_bins = len(f.points)
        if len(rows) != n_bins + 2:
            raise RuntimeError(f"optbinning made {len(rows) - 2} bins for {f.code}, "
                               f"expected {n_bins}")
        values = list(f.points) + [0, f.unknown_points]  # bins…, Special, Missing
        table.iloc[rows, table.columns.get_loc("Points")] = np.asarray(values, dtype=float)
    card.intercept_ = float(model.base_points)
    return card


def optbinning_scores(card: Any, model: Model, x: np.ndarray) -> np.ndarray:
    """``card.score`` on a feature matrix (same column order as the model)."""
    import pandas as pd

    return np.asarray(card.score(pd.DataFrame(x, columns=list(model.feature_codes))))
