"""Drift statistics: the ones Vertex AI Model Monitoring uses, next to KS, chi-square and PSI.

Why in the helper package: lab 14 has students implement these statistics and checks
their answers against a tested reference; the same functions score the lab's simulated
production windows.

What Vertex AI Model Monitoring computes (v1 ``ThresholdConfig`` and v2 ``DataDriftSpec``,
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/ThresholdConfig):

* numerical features: the **Jensen–Shannon divergence** between the baseline's and the
  target's histograms (:func:`js_divergence`). Model Monitoring v1 runs TensorFlow Data
  Validation, whose histograms have 10 equal-width buckets and whose divergence uses
  ``log2`` (so it lies in [0, 1]); we do the same: ``base=2`` and ``bins=10`` by default.
  This is the *divergence*; ``scipy.spatial.distance.jensenshannon`` returns the
  *distance*, its square root (``jensenshannon(p, q, base=2) ** 2`` equals ours).
* categorical features: the **L-infinity distance** between the two normalised
  frequency tables, the largest absolute difference of one category's share
  (:func:`l_infinity`), also in [0, 1].
* an alert when a feature's value exceeds its threshold; the console's and the SDK's
  usual default is ``0.3`` (:data:`DEFAULT_THRESHOLD`).

Binning rule (documented because it changes the numbers): ``bins`` equal-width bins span
the **baseline's** finite [min, max]; a value equal to the max falls in the last bin (as in
``numpy.histogram``). Target values outside that range are not clipped into the edge
bins: they go to two extra bins, *below* and *above*, where the baseline has no mass, so
values the model never saw in training count fully as drift. Missing values (NaN) are
dropped: watch the missing-value rate separately (Vertex reports it as its own statistic).

The classical tests, for comparison: :func:`ks_test` (two-sample Kolmogorov–Smirnov,
``scipy.stats.ks_2samp``), :func:`chi_square_test` (``scipy.stats.chi2_contingency`` on
the two samples' category counts) and :func:`psi` (population stability index over the
baseline's deciles). Tests answer "is there *any* difference?", which with a million rows
is always yes; distances answer "how *large* is it?", which is what an alert needs.

Example::

    from ds500 import drift
    drift.js_divergence(train["tenure"], window["tenure"])      # 0.0 .. 1.0
    drift.l_infinity(train["contract"], window["contract"])     # 0.0 .. 1.0
    drift.drift_report(train, window, categorical=["contract"])  # one row per feature
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_THRESHOLD",
    "TestResult",
    "benchmark",
    "chi_square_test",
    "drift_report",
    "histograms",
    "js_divergence",
    "js_divergence_columns",
    "js_divergence_from_counts",
    "ks_test",
    "l_infinity",
    "psi",
]

DEFAULT_THRESHOLD = 0.3
"""The usual default alert threshold of Vertex AI Model Monitoring, for both statistics."""

DEFAULT_BINS = 10
"""Equal-width bins over the baseline's range (TensorFlow Data Validation's default)."""


@dataclass(frozen=True)
class TestResult:
    """A statistical test's outcome: the statistic and its p-value."""

    __test__ = False  # not a pytest test class

    statistic: float
    pvalue: float


# -- validation ------------------------------------------------------------------------
def _numeric(values: Any, name: str, *, ndim: int = 1) -> np.ndarray:
    """Return ``values`` as a float array, or raise a clear error."""
    array = np.asarray(values)
    if array.dtype == object or array.dtype.kind in "USVMm":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}; use l_infinity for categories")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def _finite_1d(values: Any, name: str) -> np.ndarray:
    array = _numeric(values, name)
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise ValueError(f"{name} holds only missing values (NaN)")
    return array


def _check_bins(bins: Any) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    return int(bins)


def _check_base(base: Any) -> float:
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not base > 1:
        raise ValueError(f"base must be a number > 1 (2 for bits, math.e for nats), got {base!r}")
    return float(base)


def _categories(values: Any, name: str) -> pd.Series:
    series = pd.Series(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values)
    if series.ndim != 1 or len(series) == 0:
        raise ValueError(f"{name} is empty")
    series = series.dropna()
    if len(series) == 0:
        raise ValueError(f"{name} holds only missing values")
    return series


# -- numerical features: histograms and Jensen-Shannon ---------------------------------
_CHUNK_ROWS = 8192  # rows binned at a time: keeps the temporaries in the CPU cache


def _bin_index(
    chunk: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray, bins: int
) -> np.ndarray:
    """Bin index per cell: 0 below range, 1..bins inside, bins+1 above, bins+2 for NaN."""
    index = chunk - low
    index *= scale
    np.floor(index, out=index)
    np.clip(index, -1, bins - 1, out=index)  # x < low gives t < 0: the "below" bin
    index[chunk > high] = bins
    flat = scale == 0  # a constant baseline column: one bin, and t is 0 on both sides
    if flat.any():
        index[:, flat] = np.where(chunk[:, flat] < low[flat], -1, index[:, flat])
    missing = np.isnan(chunk)
    if missing.any():
        index[missing] = bins + 1
    return index.astype(np.intp) + 1


def _counts(matrix: np.ndarray, low: np.ndarray, high: np.ndarray, bins: int) -> np.ndarray:
    """Counts per column and bin (columns × (bins + 2)), NaN dropped; one bincount per chunk."""
    n_cols, width = matrix.shape[1], bins + 3
    step = (high - low) / bins
    scale = np.divide(1.0, step, out=np.zeros_like(step), where=step > 0)
    offsets = np.arange(n_cols) * width
    counts = np.zeros(n_cols * width, dtype=np.int64)
    for start in range(0, matrix.shape[0], _CHUNK_ROWS):
        index = _bin_index(matrix[start : start + _CHUNK_ROWS], low, high, scale, bins)
        index += offsets
        counts += np.bincount(index.ravel(), minlength=n_cols * width)
    return counts.reshape(n_cols, width)[:, : bins + 2]


def _ranges(baseline: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-column finite [min, max] of the baseline."""
    if np.isfinite(baseline).all():
        return baseline.min(axis=0), baseline.max(axis=0)
    finite = np.where(np.isfinite(baseline), baseline, np.nan)
    empty = np.isnan(finite).all(axis=0)
    if empty.any():
        raise ValueError(f"{name} column(s) {np.flatnonzero(empty).tolist()} hold no finite values")
    return np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)


def histograms(baseline: Any, target: Any, *, bins: int = DEFAULT_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Normalised histograms of two samples over the baseline's equal-width bins.

    Returns:
        ``(p, q)``, each of length ``bins + 2``: [below the baseline's min,
        ``bins`` equal-width bins, above its max]; NaN is dropped; each sums to 1.
    """
    bins = _check_bins(bins)
    base = _finite_1d(baseline, "baseline")[:, None]
    targ = _finite_1d(target, "target")[:, None]
    low, high = _ranges(base, "baseline")
    p = _counts(base, low, high, bins)[0].astype(float)
    q = _counts(targ, low, high, bins)[0].astype(float)
    return p / p.sum(), q / q.sum()


def js_divergence_from_counts(p: Any, q: Any, *, base: float = 2.0) -> np.ndarray | float:
    """Jensen–Shannon divergence of two histograms (counts or probabilities).

    ``JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M)`` with ``M = (P + Q) / 2`` and ``0 log 0 = 0``.
    The last axis holds the bins, so a 2-D input gives one value per row.
    """
    base = _check_base(base)
    p, q = _numeric(p, "p", ndim=np.ndim(p)), _numeric(q, "q", ndim=np.ndim(q))
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if (p < 0).any() or (q < 0).any() or np.isnan(p).any() or np.isnan(q).any():
        raise ValueError("p and q must be non-negative counts or probabilities without NaN")
    p_sum, q_sum = p.sum(axis=-1, keepdims=True), q.sum(axis=-1, keepdims=True)
    if (p_sum == 0).any() or (q_sum == 0).any():
        raise ValueError("a histogram with no mass has no distribution")
    p, q = p / p_sum, q / q_sum
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        ratio = np.divide(a, m, out=np.ones_like(a), where=a > 0)
        return np.sum(a * np.log(ratio), axis=-1)

    result = np.clip((kl(p) + kl(q)) / 2 / math.log(base), 0.0, None)
    return float(result) if result.ndim == 0 else result


def js_divergence(baseline: Any, target: Any, *, bins: int = DEFAULT_BINS, base: float = 2.0) -> float:
    """Jensen–Shannon divergence of a numerical feature (baseline bins, see module doc).

    With ``base=2`` (the default, as in TFDV/Vertex AI) the value lies in [0, 1]: 0 for
    identical histograms, 1 when the samples share no bin.

    Raises:
        TypeError: non-numeric input.
        ValueError: empty or NaN-only input, or a bad ``bins``/``base``.
    """
    p, q = histograms(baseline, target, bins=bins)
    return float(js_divergence_from_counts(p, q, base=base))


def js_divergence_columns(
    baseline: Any, target: Any, *, bins: int = DEFAULT_BINS, base: float = 2.0
) -> np.ndarray:
    """Jensen–Shannon divergence of every column of two numeric matrices, vectorised.

    ``baseline`` (n × k) and ``target`` (m × k) may differ in rows, not in columns. All
    columns are binned at once and counted with one ``np.bincount``: 1,000,000 × 20
    takes well under a second (see :func:`benchmark`).
    """
    bins = _check_bins(bins)
    base_m = _numeric(baseline, "baseline", ndim=2)
    targ_m = _numeric(target, "target", ndim=2)
    if base_m.shape[1] != targ_m.shape[1]:
        raise ValueError(f"baseline has {base_m.shape[1]} columns but target has {targ_m.shape[1]}")
    low, high = _ranges(base_m, "baseline")
    p, q = _counts(base_m, low, high, bins), _counts(targ_m, low, high, bins)
    empty = np.flatnonzero(q.sum(axis=1) == 0).tolist()
    if empty:
        raise ValueError(f"target column(s) {empty} hold only missing values (NaN)")
    return np.asarray(js_divergence_from_counts(p, q, base=base))


# -- categorical features ---------------------------------------------------------------
def _frequency_table(baseline: Any, target: Any) -> pd.DataFrame:
    base = _categories(baseline, "baseline").astype(str)
    targ = _categories(target, "target").astype(str)
    table = pd.concat({"baseline": base.value_counts(), "target": targ.value_counts()}, axis=1).fillna(0)
    return table.sort_index()


def l_infinity(baseline: Any, target: Any) -> float:
    """L-infinity distance of a categorical feature: ``max_c |p_c − q_c|`` over all categories.

    Each sample is normalised by its own total; a category seen in only one sample
    counts with share 0 in the other. Missing values are dropped. In [0, 1].
    """
    table = _frequency_table(baseline, target)
    shares = table / table.sum()
    return float((shares["baseline"] - shares["target"]).abs().max())


def chi_square_test(baseline: Any, target: Any) -> TestResult:
    """Chi-square test of homogeneity on the two samples' category counts."""
    from scipy.stats import chi2_contingency

    table = _frequency_table(baseline, target)
    if len(table) < 2:
        return TestResult(0.0, 1.0)  # one category in both samples: nothing can differ
    result = chi2_contingency(table.to_numpy().T)
    return TestResult(float(result.statistic), float(result.pvalue))


# -- classical numeric statistics --------------------------------------------------------
def ks_test(baseline: Any, target: Any) -> TestResult:
    """Two-sample Kolmogorov–Smirnov test (``scipy.stats.ks_2samp``), NaN dropped."""
    from scipy.stats import ks_2samp

    result = ks_2samp(_finite_1d(baseline, "baseline"), _finite_1d(target, "target"))
    return TestResult(float(result.statistic), float(result.pvalue))


def psi(baseline: Any, target: Any, *, bins: int = DEFAULT_BINS, epsilon: float = 1e-4) -> float:
    """Population stability index over the baseline's quantile bins (deciles by default).

    ``PSI = Σ (q − p) ln(q / p)``; shares below ``epsilon`` are raised to it so an
    empty bin does not give infinity. Outer bins are open, so no value falls outside.
    Rules of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 large shift.
    """
    bins = _check_bins(bins)
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    base, targ = _finite_1d(baseline, "baseline"), _finite_1d(target, "target")
    inner = np.unique(np.quantile(base, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(inner, base, side="right"), minlength=len(inner) + 1) / base.size
    q = np.bincount(np.searchsorted(inner, targ, side="right"), minlength=len(inner) + 1) / targ.size
    p, q = np.maximum(p, epsilon), np.maximum(q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


# -- a per-feature report ----------------------------------------------------------------
def drift_report(
    baseline: pd.DataFrame,
    target: pd.DataFrame,
    *,
    categorical: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    default_threshold: float = DEFAULT_THRESHOLD,
    bins: int = DEFAULT_BINS,
) -> pd.DataFrame:
    """Score every feature the way Model Monitoring does, one row per feature.

    Args:
        baseline, target: frames with the same feature columns.
        categorical: columns scored with L-infinity; default: the non-numeric columns.
        features: columns to score; default: all columns of ``baseline``.
        thresholds: per-feature alert thresholds, overriding ``default_threshold``.

    Returns:
        Columns ``feature, kind, metric, distance, threshold, alert``, sorted by distance.
    """
    if not isinstance(baseline, pd.DataFrame) or not isinstance(target, pd.DataFrame):
        raise TypeError("baseline and target must be pandas DataFrames")
    names = list(baseline.columns if features is None else features)
    missing = [n for n in names if n not in baseline.columns or n not in target.columns]
    if missing:
        raise ValueError(f"feature(s) {missing} missing from baseline or target")
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(names))
    if unknown:
        raise ValueError(f"thresholds given for unknown feature(s) {unknown}")
    if categorical is None:
        categorical = [n for n in names if not pd.api.types.is_numeric_dtype(baseline[n])]
    numeric = [n for n in names if n not in set(categorical)]
    rows = []
    if numeric:
        values = js_divergence_columns(
            baseline[numeric].to_numpy(np.float64), target[numeric].to_numpy(np.float64), bins=bins
        )
        rows += [
            (n, "numeric", "jensen_shannon_divergence", float(v))
            for n, v in zip(numeric, values, strict=True)
        ]
    rows += [(n, "categorical", "l_infinity", l_infinity(baseline[n], target[n])) for n in categorical]
    report = pd.DataFrame(rows, columns=["feature", "kind", "metric", "distance"])
    report["threshold"] = [float(thresholds.get(n, default_threshold)) for n in report["feature"]]
    report["alert"] = report["distance"] > report["threshold"]
    return report.sort_values("distance", ascending=False, ignore_index=True)


def benchmark(
    n_rows: int = 1_000_000, n_features: int = 20, *, bins: int = DEFAULT_BINS, seed: int = 0
) -> dict[str, float]:
    """Time :func:`js_divergence_columns` on two ``n_rows × n_features`` matrices.

    The data (normal baseline; shifted, widened target) is generated before the clock
    starts. Returns the best of two runs as ``{"wall_s": ..., "cpu_s": ...}``: the CPU
    time of this process is the fairer figure on a shared machine, where wall time
    includes waiting for a core.
    """
    if n_rows < 1 or n_features < 1:
        raise ValueError("n_rows and n_features must be positive")
    rng = np.random.default_rng(seed)
    baseline = rng.normal(0.0, 1.0, (n_rows, n_features))
    target = rng.normal(0.2, 1.2, (n_rows, n_features))
    wall, cpu = math.inf, math.inf
    for _ in range(2):
        start, start_cpu = time.perf_counter(), time.process_time()
        js_divergence_columns(baseline, target, bins=bins)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return {"wall_s": wall, "cpu_s": cpu}
