"""Tests for ds500.drift: hand-computed cases, scipy cross-checks, bad input, the benchmark."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

from ds500 import drift


# -- Jensen-Shannon ---------------------------------------------------------------------
def test_js_identical_samples_is_zero():
    values = np.arange(100.0)
    assert drift.js_divergence(values, values) == 0.0


def test_js_disjoint_samples_is_one_bit():
    # every target value lies above the baseline's max: no shared bin
    assert drift.js_divergence([0.0, 1.0, 2.0], [10.0, 11.0]) == pytest.approx(1.0)


def test_js_hand_computed_half_overlap():
    # P = (1/2, 1/2, 0), Q = (0, 1/2, 1/2): M = (1/4, 1/2, 1/4); JS = 1/2 bit
    p, q = np.array([1, 1, 0]), np.array([0, 1, 1])
    assert drift.js_divergence_from_counts(p, q) == pytest.approx(0.5)
    assert drift.js_divergence_from_counts(p, q, base=math.e) == pytest.approx(0.5 * math.log(2))


def test_js_matches_scipy_distance_squared():
    rng = np.random.default_rng(0)
    baseline, target = rng.normal(0, 1, 5000), rng.normal(0.4, 1.3, 3000)
    p, q = drift.histograms(baseline, target)
    assert p.shape == (drift.DEFAULT_BINS + 2,) and p.sum() == pytest.approx(1.0)
    expected = jensenshannon(p, q, base=2) ** 2  # scipy returns the distance
    assert drift.js_divergence(baseline, target) == pytest.approx(expected, rel=1e-9)


def test_histograms_match_numpy_inside_the_range_and_count_outside():
    rng = np.random.default_rng(1)
    baseline = rng.uniform(0, 10, 1000)
    target = np.concatenate([rng.uniform(baseline.min(), baseline.max(), 900), [-5.0] * 40, [25.0] * 60])
    p, q = drift.histograms(baseline, target, bins=5)
    counts, _ = np.histogram(baseline, bins=5, range=(baseline.min(), baseline.max()))
    np.testing.assert_allclose(p[1:-1], counts / 1000)
    assert p[0] == p[-1] == 0
    assert q[0] == pytest.approx(0.04) and q[-1] == pytest.approx(0.06)


def test_js_ignores_nan_and_handles_constant_baseline():
    assert drift.js_divergence([1.0, 2.0, np.nan], [1.0, 2.0]) == pytest.approx(0.0)
    constant = np.full(10, 3.0)
    assert drift.js_divergence(constant, constant) == 0.0
    assert drift.js_divergence(constant, [2.0, 3.0, 4.0, 3.0]) == pytest.approx(
        jensenshannon([0, 1, 0], [1, 2, 1], base=2) ** 2
    )


def test_js_columns_equals_per_column_loop():
    rng = np.random.default_rng(2)
    baseline = rng.normal(0, 1, (2000, 4))
    target = rng.normal([0, 0.5, 1, 3], 1, (1500, 4))
    target[::7, 2] = np.nan
    columns = drift.js_divergence_columns(baseline, target)
    loop = [drift.js_divergence(baseline[:, j], target[:, j]) for j in range(4)]
    np.testing.assert_allclose(columns, loop, rtol=1e-12)
    assert np.all(np.diff(columns) > 0)  # larger shifts, larger divergence


@pytest.mark.parametrize(
    ("baseline", "target", "error", "match"),
    [
        ([], [1.0], ValueError, "baseline is empty"),
        ([1.0], [], ValueError, "target is empty"),
        ([np.nan, np.nan], [1.0], ValueError, "only missing"),
        ([1.0, 2.0], [np.nan], ValueError, "only missing"),
        (["a", "b"], ["a"], TypeError, "numeric"),
        ([1.0, 2.0], np.array(["x"], dtype=object), TypeError, "numeric"),
    ],
)
def test_js_bad_input(baseline, target, error, match):
    with pytest.raises(error, match=match):
        drift.js_divergence(baseline, target)


def test_js_columns_bad_input():
    with pytest.raises(ValueError, match="columns"):
        drift.js_divergence_columns(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="2-dimensional"):
        drift.js_divergence_columns(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="no finite"):
        drift.js_divergence_columns(np.full((3, 1), np.nan), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="bins"):
        drift.js_divergence([1.0, 2.0], [1.0], bins=0)
    with pytest.raises(ValueError, match="base"):
        drift.js_divergence([1.0, 2.0], [1.0], base=1)
    with pytest.raises(ValueError, match="same shape"):
        drift.js_divergence_from_counts([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="no mass"):
        drift.js_divergence_from_counts([0, 0], [1, 2])


# -- categorical ------------------------------------------------------------------------
def test_l_infinity_hand_computed():
    baseline = ["a"] * 6 + ["b"] * 3 + ["c"]  # .6 .3 .1
    target = ["a"] * 2 + ["b"] * 4 + ["d"] * 4  # .2 .4 0 .4
    assert drift.l_infinity(baseline, target) == pytest.approx(0.4)
    assert drift.l_infinity(baseline, baseline) == 0.0
    assert drift.l_infinity(["x"], ["y"]) == 1.0
    assert drift.l_infinity(pd.Series(["a", None, "b"]), ["a", "b"]) == 0.0


def test_l_infinity_bad_input():
    with pytest.raises(ValueError, match="empty"):
        drift.l_infinity([], ["a"])
    with pytest.raises(ValueError, match="only missing"):
        drift.l_infinity(["a"], [None, None])


def test_chi_square_matches_scipy():
    baseline = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    target = ["a"] * 20 + ["b"] * 40 + ["c"] * 40
    result = drift.chi_square_test(baseline, target)
    expected = chi2_contingency([[50, 30, 20], [20, 40, 40]])
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue)
    assert drift.chi_square_test(["a"], ["a", "a"]) == drift.TestResult(0.0, 1.0)


# -- KS and PSI ---------------------------------------------------------------------------
def test_ks_matches_scipy_and_drops_nan():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 300), rng.normal(0.3, 1, 200)
    expected = ks_2samp(a, b)
    result = drift.ks_test(np.append(a, np.nan), b)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue)


def test_psi_hand_computed_and_properties():
    baseline = np.arange(100.0)  # two quantile bins: below / from the median
    target = np.r_[np.zeros(25), np.full(75, 99.0)]
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert drift.psi(baseline, target, bins=2) == pytest.approx(np.sum((q - p) * np.log(q / p)))
    assert drift.psi(baseline, baseline) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(4)
    same, shifted = rng.normal(0, 1, 20000), rng.normal(1, 1, 20000)
    assert drift.psi(rng.normal(0, 1, 20000), same) < 0.01 < 0.25 < drift.psi(same, shifted)
    with pytest.raises(ValueError, match="epsilon"):
        drift.psi(baseline, target, epsilon=0)


# -- report and benchmark ---------------------------------------------------------------
def test_drift_report_scores_each_feature_and_alerts():
    rng = np.random.default_rng(5)
    n = 2000
    baseline = pd.DataFrame(
        {"x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n), "c": rng.choice(["a", "b"], n, p=[0.8, 0.2])}
    )
    target = pd.DataFrame(
        {"x": rng.normal(0, 1, n), "y": rng.normal(4, 1, n), "c": rng.choice(["a", "b"], n, p=[0.3, 0.7])}
    )
    report = drift.drift_report(baseline, target, thresholds={"c": 0.6})
    assert list(report.columns) == ["feature", "kind", "metric", "distance", "threshold", "alert"]
    rows = report.set_index("feature")
    assert rows.loc["c", "metric"] == "l_infinity" and rows.loc["x", "metric"] == "jensen_shannon_divergence"
    assert rows.loc["c", "distance"] == pytest.approx(drift.l_infinity(baseline["c"], target["c"]))
    assert rows.loc["y", "distance"] == pytest.approx(drift.js_divergence(baseline["y"], target["y"]))
    assert rows["alert"].to_dict() == {"y": True, "c": False, "x": False}
    assert rows.loc["x", "threshold"] == drift.DEFAULT_THRESHOLD == 0.3
    with pytest.raises(ValueError, match="missing"):
        drift.drift_report(baseline, target.drop(columns="y"))
    with pytest.raises(ValueError, match="unknown"):
        drift.drift_report(baseline, target, thresholds={"z": 0.1})
    with pytest.raises(TypeError, match="DataFrame"):
        drift.drift_report(baseline.to_numpy(), target)


def test_benchmark_one_million_rows_by_twenty_features_under_a_second():
    timing = drift.benchmark(1_000_000, 20)
    print(f"\njs_divergence_columns, 1,000,000 x 20 (baseline and target): {timing}")
    assert timing["cpu_s"] < 1.0, timing
