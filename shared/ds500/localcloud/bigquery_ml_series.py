"""ARIMA_PLUS locally: STL seasonal decomposition plus a small auto.ARIMA search (statsmodels).

BigQuery ML's ARIMA_PLUS cleans the series, removes holiday effects and seasonal
patterns, then fits the trend with auto.ARIMA (orders by AIC, with or without drift)
(https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-time-series).
The local approximation keeps the two steps that shape a forecast: STL removes the
seasonality of the period DATA_FREQUENCY implies, and ARIMA orders with
p + q <= 2 (d from a KPSS test; with drift when d = 1, then the best order also
without) are compared by AIC; no holiday model, spike cleaning or step-change
detection. ML.FORECAST columns:
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-forecast.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ds500.localcloud.bigquery_sql import invalid_query

__all__ = ["Series", "arima_evaluate", "evaluate", "fit_series", "forecast"]

OPTIONS = {
    "MODEL_TYPE",
    "TIME_SERIES_TIMESTAMP_COL",
    "TIME_SERIES_DATA_COL",
    "TIME_SERIES_ID_COL",
    "HORIZON",
    "AUTO_ARIMA",
    "AUTO_ARIMA_MAX_ORDER",
    "DATA_FREQUENCY",
    "DECOMPOSE_TIME_SERIES",
    "HOLIDAY_REGION",
    "CLEAN_SPIKES_AND_DIPS",
    "ADJUST_STEP_CHANGES",
    "INCLUDE_DRIFT",
    "NON_SEASONAL_ORDER",
}
_PERIODS = {
    "DAILY": ("D", 7),
    "WEEKLY": ("W", 52),
    "MONTHLY": ("MS", 12),
    "QUARTERLY": ("QS", 4),
    "YEARLY": ("YS", 1),
    "HOURLY": ("h", 24),
    "PER_MINUTE": ("min", 60),
}


@dataclass
class Series:
    """A fitted ARIMA_PLUS model of one series."""

    timestamp_col: str
    data_col: str
    stamps: pd.DatetimeIndex
    values: np.ndarray
    frequency: str
    period: int
    seasonal: np.ndarray | None
    fit: Any  # statsmodels ARIMAResults on the seasonally adjusted series
    order: tuple[int, int, int]
    drift: bool
    horizon: int
    candidates: list[dict[str, Any]]
    seconds: float


def _frequency(options: dict[str, Any], stamps: pd.DatetimeIndex) -> tuple[str, int]:
    name = str(options.get("DATA_FREQUENCY", "AUTO_FREQUENCY")).upper()
    if name in _PERIODS:
        return _PERIODS[name]
    if name != "AUTO_FREQUENCY":
        raise invalid_query(f"Invalid value for option DATA_FREQUENCY: {name!r}")
    inferred = pd.infer_freq(stamps) if len(stamps) >= 3 else None
    for code, (alias, period) in _PERIODS.items():
        if inferred and inferred.upper().startswith(alias.upper()[:1]) and code != "PER_MINUTE":
            return alias, period
    return "D", 7


def fit_series(options: dict[str, Any], frame: pd.DataFrame) -> Series:
    """CREATE MODEL ... MODEL_TYPE = 'ARIMA_PLUS' on the rows of the training query.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-time-series
    """
    try:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.seasonal import STL
        from statsmodels.tsa.stattools import kpss
    except ImportError as error:  # pragma: no cover - statsmodels ships with ds500[data]
        raise invalid_query(
            "ARIMA_PLUS in the local stand-in needs statsmodels (pip install ds500[data])"
        ) from error
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise invalid_query(f"Unknown option: {unknown[0]} for model type ARIMA_PLUS")
    if options.get("TIME_SERIES_ID_COL"):
        raise invalid_query(
            "TIME_SERIES_ID_COL (many series in one model) is not supported by the local stand-in"
        )
    stamp_col, data_col = options.get("TIME_SERIES_TIMESTAMP_COL"), options.get("TIME_SERIES_DATA_COL")
    for option, column in (("TIME_SERIES_TIMESTAMP_COL", stamp_col), ("TIME_SERIES_DATA_COL", data_col)):
        if not column:
            raise invalid_query(f"Option {option} is required for model type ARIMA_PLUS")
        if column not in frame.columns:
            raise invalid_query(f"Column {column} named by {option} is not in the training query")
    horizon = options.get("HORIZON", 1000)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= 10_000:
        raise invalid_query(f"Invalid value for option HORIZON: {horizon}; it must be in [1, 10000]")
    start = time.perf_counter()
    data = frame[[stamp_col, data_col]].dropna().copy()
    data[stamp_col] = pd.to_datetime(data[stamp_col], utc=True)
    data = data.groupby(stamp_col, as_index=False)[data_col].mean().sort_values(stamp_col)
    stamps = pd.DatetimeIndex(data[stamp_col])
    values = data[data_col].to_numpy(dtype=float)
    if len(values) < 3:
        raise invalid_query("ARIMA_PLUS needs at least 3 time points in the training query")
    alias, period = _frequency(options, stamps)
    seasonal = None
    adjusted = values
    if options.get("DECOMPOSE_TIME_SERIES", True) and period > 1 and len(values) >= 2 * period + 1:
        seasonal = STL(values, period=period, robust=True).fit().seasonal
        adjusted = values - seasonal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            d = 1 if kpss(adjusted, nlags="auto")[1] < 0.05 else 0
        except (ValueError, OverflowError):
            d = 1
        candidates: list[dict[str, Any]] = []

        def attempt(order: tuple[int, int, int], drift: bool) -> None:
            trend = "t" if drift else ("c" if order[1] == 0 else "n")
            try:  # cov_type="none": no Hessian of the parameters (the forecast's errors do not need it)
                result = ARIMA(adjusted, order=order, trend=trend).fit(cov_type="none")
            except (ValueError, np.linalg.LinAlgError):
                return
            candidates.append({"order": order, "drift": drift, "fit": result})

        for p in range(3):  # the orders with drift when the series is differenced ...
            for q in range(3 - p):
                attempt((p, d, q), d == 1)
        if not candidates:
            raise invalid_query("ARIMA_PLUS could not fit any ARIMA model to the series")
        if d == 1:  # ... then the best of them without drift
            attempt(min(candidates, key=lambda c: c["fit"].aic)["order"], False)
    best = min(candidates, key=lambda c: c["fit"].aic)
    return Series(
        timestamp_col=stamp_col,
        data_col=data_col,
        stamps=stamps,
        values=values,
        frequency=alias,
        period=period,
        seasonal=seasonal,
        fit=best["fit"],
        order=best["order"],
        drift=best["drift"],
        horizon=horizon,
        candidates=[{k: v for k, v in c.items()} for c in candidates],
        seconds=time.perf_counter() - start,
    )


def _future(series: Series, steps: int) -> pd.DatetimeIndex:
    return pd.date_range(series.stamps[-1], periods=steps + 1, freq=series.frequency, tz="UTC")[1:]


def forecast(series: Series, horizon: Any = None, confidence: Any = None) -> pd.DataFrame:
    """ML.FORECAST: forecast_timestamp, forecast_value, standard_error, confidence_level, interval bounds.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-forecast
    """
    from scipy.stats import norm

    steps = 3 if horizon is None else horizon
    level = 0.95 if confidence is None else confidence
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= series.horizon:
        raise invalid_query(
            f"Invalid value for horizon: {steps}; it must be in [1, {series.horizon}] (the model's HORIZON)"
        )
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level < 1:
        raise invalid_query(f"Invalid value for confidence_level: {level}; the valid range is [0, 1)")
    predicted = series.fit.get_forecast(steps)
    mean = np.asarray(predicted.predicted_mean, dtype=float)
    error = np.asarray(predicted.se_mean, dtype=float)
    if series.seasonal is not None:
        last_season = series.seasonal[-series.period :]
        mean = mean + np.resize(last_season, steps)
    half = norm.ppf(0.5 + level / 2) * error
    return pd.DataFrame(
        {
            "forecast_timestamp": _future(series, steps),
            "forecast_value": mean,
            "standard_error": error,
            "confidence_level": float(level),
            "prediction_interval_lower_bound": mean - half,
            "prediction_interval_upper_bound": mean + half,
            "confidence_interval_lower_bound": mean - half,
            "confidence_interval_upper_bound": mean + half,
        }
    )


def _season_names(series: Series) -> list[str]:
    if series.seasonal is None:
        return ["NO_SEASONALITY"]
    return [{7: "WEEKLY", 24: "DAILY", 60: "HOURLY"}.get(series.period, "YEARLY")]


def arima_evaluate(series: Series, show_all: Any = None) -> pd.DataFrame:
    """ML.ARIMA_EVALUATE: the best candidate, or with ``show_all_candidate_models`` all, best AIC first
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-arima-evaluate)."""
    rows = [
        {
            "non_seasonal_p": c["order"][0],
            "non_seasonal_d": c["order"][1],
            "non_seasonal_q": c["order"][2],
            "has_drift": c["drift"],
            "log_likelihood": float(c["fit"].llf),
            "aic": float(c["fit"].aic),
            "variance": float(c["fit"].params[-1]),
            "seasonal_periods": _season_names(series),
            "has_holiday_effect": False,
            "has_spikes_and_dips": False,
            "has_step_changes": False,
            "error_message": "",
        }
        for c in series.candidates
    ]
    frame = pd.DataFrame(rows).sort_values("aic", kind="stable").reset_index(drop=True)
    return frame if show_all else frame.head(1)


def evaluate(series: Series, frame: pd.DataFrame | None, options: dict[str, Any]) -> pd.DataFrame:
    """ML.EVALUATE for ARIMA_PLUS: forecast accuracy on the given rows, or the fit's ARIMA statistics.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate
    (time series: perform_aggregation defaults to TRUE).
    """
    if frame is None:
        fit = series.fit
        return pd.DataFrame(
            [
                {
                    "non_seasonal_p": series.order[0],
                    "non_seasonal_d": series.order[1],
                    "non_seasonal_q": series.order[2],
                    "has_drift": series.drift,
                    "log_likelihood": float(fit.llf),
                    "aic": float(fit.aic),
                    "variance": float(fit.params[-1]),
                    "seasonal_periods": _season_names(series),
                    "has_holiday_effect": False,
                    "has_spikes_and_dips": False,
                    "has_step_changes": False,
                }
            ]
        )
    for column in (series.timestamp_col, series.data_col):
        if column not in frame.columns:
            raise invalid_query(
                f"Invalid table-valued function ML.EVALUATE: the input has no column {column}"
            )
    aggregate = options.get("perform_aggregation", True)
    horizon = options.get("horizon", series.horizon)
    predicted = forecast(series, horizon, options.get("confidence_level"))
    actual = frame[[series.timestamp_col, series.data_col]].copy()
    actual["forecast_timestamp"] = pd.to_datetime(actual[series.timestamp_col], utc=True)
    joined = actual.merge(predicted, on="forecast_timestamp", how="inner")
    a, p = joined[series.data_col].to_numpy(dtype=float), joined["forecast_value"].to_numpy()
    if not aggregate:
        return pd.DataFrame(
            {
                series.timestamp_col: joined["forecast_timestamp"],
                series.data_col: a,
                f"forecasted_{series.data_col}": p,
                "lower_bound": joined["prediction_interval_lower_bound"],
                "upper_bound": joined["prediction_interval_upper_bound"],
                "absolute_error": np.abs(a - p),
                "absolute_percentage_error": np.abs(a - p) / np.abs(a),
            }
        )
    if len(a) == 0:
        raise invalid_query("ML.EVALUATE: no input timestamp falls within the model's forecast horizon")
    error = a - p
    naive = np.mean(np.abs(np.diff(series.values))) or float("nan")
    return pd.DataFrame(
        [
            {
                "mean_absolute_error": float(np.mean(np.abs(error))),
                "mean_squared_error": float(np.mean(error**2)),
                "root_mean_squared_error": float(np.sqrt(np.mean(error**2))),
                "mean_absolute_percentage_error": float(100 * np.mean(np.abs(error) / np.abs(a))),
                "symmetric_mean_absolute_percentage_error": float(
                    100 * np.mean(2 * np.abs(error) / (np.abs(a) + np.abs(p)))
                ),
                "mean_absolute_scaled_error": float(np.mean(np.abs(error)) / naive),
            }
        ]
    )
