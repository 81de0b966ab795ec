"""Drift: is new data still like the data the model learned from?

The model card stores baseline statistics of every feature (decile bin edges and shares for
numbers, level shares for categories). New data is compared feature by feature with the
population stability index (PSI) and a two-sample test (Kolmogorov–Smirnov against the
baseline's binned distribution for numbers, chi-squared for categories).

PSI reading (the common industry rule of thumb): below 0.1 no meaningful change, 0.1–0.25 a
moderate shift worth watching, above 0.25 a major shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from core.deliver._baseline import (  # noqa: F401 — the baseline's names, here as before
    MAX_LEVELS,
    MISSING,
    OTHER,
    PREDICTION_ROWS,
    PSI_DRIFT,
    PSI_WATCH,
    baseline_stats,
    output_series,
    psi,
)
from core.deliver._predict import evaluate_labelled, predict_table
from core.metrics import METRICS
from core.plotting import COLOURS, MAX_BARS, as_text, bar_chart_height, figure


def _compare(base: dict[str, Any], s: pd.Series) -> dict[str, Any]:
    n_missing = float(s.isna().mean()) if len(s) else 0.0
    if base["kind"] == "numeric":
        values = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
        if not len(values) or not base["shares"]:
            return {"psi": None, "p_value": None, "test": "none", "missing_now": n_missing}
        inner = np.asarray(base["edges"], dtype=float)
        counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
        expected = np.asarray(base["shares"])
        value = psi(expected, counts / counts.sum())
        # KS against the baseline's piecewise distribution: compare binned CDFs (exact data is
        # not stored in the card, by design).
        n = len(values)
        cdf_gap = float(np.max(np.abs(np.cumsum(expected) - np.cumsum(counts / counts.sum()))))
        p_value = float(stats.kstwo.sf(cdf_gap, n)) if n > 0 else None
        return {"psi": value, "p_value": p_value, "test": "Kolmogorov–Smirnov (binned)",
                "statistic": cdf_gap, "missing_now": n_missing,
                "mean_then": base.get("mean"), "mean_now": float(values.mean())}
    text = s.dropna().astype(str)
    levels = base["levels"]
    known = [k for k in levels if k != OTHER]
    now = text.where(text.isin(known), OTHER).value_counts()
    keys = list(levels) + ([OTHER] if OTHER not in levels and OTHER in now else [])
    expected = np.array([levels.get(k, 0.0) for k in keys])
    observed = np.array([float(now.get(k, 0)) for k in keys])
    if observed.sum() == 0:
        return {"psi": None, "p_value": None, "test": "none", "missing_now": n_missing}
    value = psi(expected, observed / observed.sum())
    exp_counts = np.clip(expected, 1e-6, None) / np.clip(expected, 1e-6, None).sum() * observed.sum()
    chi2 = float(np.sum((observed - exp_counts) ** 2 / exp_counts))
    p_value = float(stats.chi2.sf(chi2, max(len(keys) - 1, 1)))
    new_levels = [k for k in text.unique()[:1000] if k not in levels][:5]
    return {"psi": value, "p_value": p_value, "test": "chi-squared", "statistic": chi2,
            "missing_now": n_missing, "new_levels": [str(k) for k in new_levels]}


def check_drift(card: dict[str, Any], frame: pd.DataFrame, *, model: Any = None) -> dict[str, Any]:
    """Compare ``frame`` with the training baseline in a model card.

    Returns per-feature PSI and test results, the share of drifted features, target drift and
    performance when the target column is present (and ``model`` is given), and a verdict:
    ``"no drift"``, ``"watch"`` or ``"retrain"``, with a sentence explaining it.
    """
    baseline = card["baseline"]
    rows = []
    for name, base in baseline["features"].items():
        if name not in frame.columns:
            rows.append({"feature": name, "status": "missing", "psi": None, "p_value": None})
            continue
        result = _compare(base, frame[name])
        rows.append({"feature": name, "status": _status(result["psi"]), **result})
    rows.sort(key=lambda r: -(r["psi"] or 0))
    drifted = [r["feature"] for r in rows if r["status"] == "drift"]
    watched = [r["feature"] for r in rows if r["status"] == "watch"]
    missing = [r["feature"] for r in rows if r["status"] == "missing"]
    share = len(drifted) / max(len(rows), 1)
    out: dict[str, Any] = {"rows": int(len(frame)), "features": rows, "drifted": drifted,
                           "watch": watched, "missing_columns": missing,
                           "share_drifted": share}
    prediction = _prediction_drift(card, frame, model) if not missing else None
    if prediction is not None:
        out["prediction_drift"] = prediction
    moved = prediction["psi"] if prediction and prediction["psi"] is not None else 0.0
    target = card.get("target")
    performance_drop = False
    if target and target in frame.columns and "target" in baseline:
        out["target_drift"] = _compare(baseline["target"], frame[target])
        if model is not None:
            perf = evaluate_labelled(model, card, frame)
            out["performance"] = perf
            then = (card.get("test_metrics") or {}).get(card["metric"])
            now = perf["metrics"].get(card["metric"])
            if then is not None and now is not None:
                greater = METRICS[card["metric"]].greater_is_better
                change = (now - then) if greater else (then - now)
                out["performance_change"] = {"metric": card["metric"], "then": then, "now": now,
                                             "change": change}
                performance_drop = change < -0.05 * max(abs(then), 1e-9)
    if missing or share >= 0.3 or performance_drop or moved >= PSI_DRIFT:
        verdict = "retrain"
        why = []
        if missing:
            why.append(f"{len(missing)} feature(s) are missing")
        if share >= 0.3:
            why.append(f"{len(drifted)} of {len(rows)} features drifted (PSI ≥ {PSI_DRIFT})")
        if moved >= PSI_DRIFT:
            why.append(f"the model's predictions shifted (PSI {moved:.2f})"
                       + (f"; drifted inputs: {_named(drifted)}" if drifted and share < 0.3
                          else ""))
        if performance_drop:
            pc = out["performance_change"]
            why.append(f"{pc['metric']} fell from {pc['then']:.4g} to {pc['now']:.4g}")
        explanation = "Retrain: " + "; ".join(why) + ". Re-run the saved recipe on the new data."
    elif drifted or watched or moved >= PSI_WATCH:
        verdict = "watch"
        shifted = (f"the model's predictions shifted moderately (PSI {moved:.2f})"
                   if moved >= PSI_WATCH else "")
        if drifted or watched:
            features = (f"{len(drifted)} feature(s) drifted and {len(watched)} shifted "
                        "moderately")
            explanation = (f"Watch: {features}"
                           + (f"; {shifted}" if shifted else
                              "; predictions may degrade" if prediction is None else
                              "; the model's predictions hardly moved"))
        else:
            explanation = f"Watch: {shifted}, though no single feature drifted"
        explanation += (". Check again with the next batch, and retrain if performance "
                        "falls.")
    else:
        verdict = "no drift"
        explanation = f"No drift: every feature's PSI is below {PSI_WATCH}."
    out["verdict"] = verdict
    out["explanation"] = explanation
    return out


def _prediction_drift(card: dict[str, Any], frame: pd.DataFrame, model: Any
                      ) -> dict[str, Any] | None:
    """The model's output on ``frame`` against the card's baseline of it (cards made before
    it was kept have none): a feature the model leans on moves its predictions."""
    base = (card.get("baseline") or {}).get("prediction")
    if model is None or not base or not len(frame):
        return None
    rows = frame if len(frame) <= PREDICTION_ROWS else frame.sample(PREDICTION_ROWS,
                                                                     random_state=0)
    predicted, _ = predict_table(model, card, rows)
    columns = [f"proba_{c}" for c in card.get("classes") or []]
    proba = predicted[columns].to_numpy() if columns and all(
        c in predicted.columns for c in columns) else None
    output = output_series(card["task"], labels=predicted["prediction"].to_numpy(), proba=proba)
    result = _compare(base, output)
    return {"status": _status(result["psi"]), **result}


def _status(value: float | None) -> str:
    """A PSI's reading: "drift", "watch" or "stable" (see the module's docstring)."""
    return ("drift" if value is not None and value >= PSI_DRIFT else
            "watch" if value is not None and value >= PSI_WATCH else "stable")


def _named(features: list[str]) -> str:
    shown = ", ".join(repr(f) for f in features[:3])
    return shown + (f" and {len(features) - 3} more" if len(features) > 3 else "")


def drift_figure(drift_result: dict[str, Any]) -> go.Figure | None:
    """PSI per feature (largest on top) with the 0.1 (watch) and 0.25 (drift) lines.

    ``drift_result`` is :func:`core.deliver._drift.check_drift`'s result; features without a PSI
    (missing from the new data, or all values missing) are left out.
    """
    if not drift_result:
        return None
    rows = [r for r in drift_result.get("features", []) if r.get("psi") is not None]
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: -r["psi"])[:MAX_BARS]
    colour = {"drift": COLOURS["bad"], "watch": COLOURS["watch"]}
    fig = figure("Drift per feature (population stability index)", height=bar_chart_height(len(rows)),
                  showlegend=False)
    fig.add_bar(x=[r["psi"] for r in rows], y=[as_text(r["feature"]) for r in rows], orientation="h",
                marker_color=[colour.get(r.get("status"), COLOURS["good"]) for r in rows],
                customdata=[r.get("status", "") for r in rows],
                hovertemplate="%{y}: PSI %{x:.3f} (%{customdata})<extra></extra>")
    for value, text in ((PSI_WATCH, "watch"), (PSI_DRIFT, "drift")):
        fig.add_vline(x=value, line=dict(dash="dash", color=COLOURS["muted"]),
                      annotation_text=f"{text} ({value:g})", annotation_position="top")
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title_text="PSI", rangemode="tozero")
    return fig

