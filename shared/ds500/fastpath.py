"""The churn pipeline's own arithmetic in plain Python: the service's fast inference path.

Why: profiling one request of the lab 10 service shows that the model's arithmetic
takes microseconds, while building a one-row pandas DataFrame, preparing it in pandas
and running scikit-learn's ColumnTransformer takes milliseconds of per-call overhead
(input validation, column selection, dtype checks). The fitted pipeline is a fixed
formula: one-hot indicators, standardised numbers, flags as they are, then a
logistic regression, ``p = 1 / (1 + exp(-(x . w + b)))``. :class:`CompiledPipeline`
reads those numbers from the *fitted* scikit-learn pipeline (which stays the trained
artifact in ``model.skops``) and evaluates the same formula on the plain columns of
:func:`ds500.churn_model.prepare_records`, in Python floats (float64, like scikit-learn),
so the answers agree with ``predict_proba`` to about 1e-15 (a test checks 1e-6 on every
row of the fixture). :meth:`CompiledPipeline.to_dict` is what
:func:`ds500.churn_model.save_model_dir` stores in ``model.json``, so a service worker
reads the formula back with :meth:`CompiledPipeline.from_dict` without importing
scikit-learn, the larger part of its start-up.

It is deliberately not general: a pipeline of another shape raises ``ValueError``
in :meth:`CompiledPipeline.from_pipeline` and the service keeps scikit-learn for it.
The portable way to compile any scikit-learn pipeline is ONNX (``skl2onnx`` then
ONNX Runtime), which lab 11 teaches; ONNX Runtime is not on Colab, and this path
needs nothing beyond Python (NumPy for the final sigmoid).

Example::

    compiled = CompiledPipeline.from_pipeline(model.pipeline)
    compiled.predict_proba(churn_model.prepare_records([record]))   # array([0.61...])
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["CompiledPipeline"]


@dataclass(frozen=True)
class _Block:
    """One ColumnTransformer block: how its input columns become model columns."""

    kind: str  # "onehot", "scale" or "passthrough"
    columns: tuple[str, ...]
    categories: tuple[tuple[Any, ...], ...] = ()  # onehot: the kept categories of each column
    center: np.ndarray | None = None  # scale: mean_ (None without centring)
    scale: np.ndarray | None = None  # scale: scale_ (None without scaling)


_DenseTerm = tuple[str, float, float, float]
"""``(column, center, scale, weight)``: a column adds ``(x - center) / scale * weight``."""


def _plain(values: Any) -> Any:
    """Python values for a column: ``tolist()`` of an array (NumPy scalars are slow one by one)."""
    return values.tolist() if hasattr(values, "tolist") else values


def _rows(columns: list[Any], rows: int) -> Any:
    """The values of each row across ``columns`` (an empty tuple per row when there are none)."""
    return zip(*columns, strict=True) if columns else itertools.repeat((), rows)


def _width(blocks: list[_Block]) -> int:
    """How many model columns the blocks produce (a one-hot column gives one per category)."""
    return sum(len(b.columns) if b.kind != "onehot" else sum(map(len, b.categories)) for b in blocks)


def _is_passthrough(transformer: Any) -> bool:
    """``"passthrough"``, which a fitted ColumnTransformer may hold as an identity FunctionTransformer."""
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(transformer, str):
        return transformer == "passthrough"
    return isinstance(transformer, FunctionTransformer) and transformer.func is None


@dataclass(frozen=True)
class CompiledPipeline:
    """A fitted ColumnTransformer + binary LogisticRegression as NumPy arithmetic.

    Attributes:
        blocks: the column blocks, in the ColumnTransformer's output order.
        weights: the logistic regression's coefficients, one per model column.
        bias: its intercept.
    """

    blocks: tuple[_Block, ...]
    weights: np.ndarray
    bias: float

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> CompiledPipeline:
        """Read the numbers of a fitted pipeline from :func:`ds500.churn_model.build_pipeline`.

        Supported: a ``Pipeline`` of a fitted ``ColumnTransformer`` (blocks of
        ``OneHotEncoder`` with ``handle_unknown="error"``, ``StandardScaler`` or
        ``"passthrough"``, remainder dropped) and a binary ``LogisticRegression``.

        Raises:
            ValueError: for any other shape (say which part), or an unfitted pipeline.
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
            raise ValueError("the fast path compiles a Pipeline([ColumnTransformer, LogisticRegression])")
        columns, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
        if not isinstance(columns, ColumnTransformer) or not hasattr(columns, "transformers_"):
            raise ValueError("the pipeline's first step must be a fitted ColumnTransformer")
        if not isinstance(classifier, LogisticRegression) or not hasattr(classifier, "coef_"):
            raise ValueError("the pipeline's last step must be a fitted LogisticRegression")
        if len(classifier.classes_) != 2:
            raise ValueError(f"the fast path serves binary classifiers, got classes {classifier.classes_}")
        blocks = []
        for name, transformer, selected in columns.transformers_:
            names = tuple(str(c) for c in selected)
            if isinstance(transformer, str) and transformer == "drop" or not names:
                continue
            if _is_passthrough(transformer):
                blocks.append(_Block("passthrough", names))
            elif isinstance(transformer, OneHotEncoder):
                if transformer.handle_unknown != "error":
                    raise ValueError(f"block {name!r}: OneHotEncoder must use handle_unknown='error'")
                drops = transformer.drop_idx_ if transformer.drop_idx_ is not None else [None] * len(names)
                kept = tuple(
                    tuple(c for i, c in enumerate(cats) if drop is None or i != drop)
                    for cats, drop in zip(transformer.categories_, drops, strict=True)
                )
                blocks.append(_Block("onehot", names, categories=kept))
            elif isinstance(transformer, StandardScaler):
                blocks.append(_Block("scale", names, center=transformer.mean_, scale=transformer.scale_))
            else:
                raise ValueError(f"block {name!r} is a {type(transformer).__name__}, which is not compiled")
        weights = np.asarray(classifier.coef_, dtype=float).ravel()
        width = _width(blocks)
        if width != weights.size:
            raise ValueError(f"the blocks give {width} model columns but the classifier has {weights.size}")
        return cls(tuple(blocks), weights, float(classifier.intercept_[0]))

    def to_dict(self) -> dict[str, Any]:
        """The formula as JSON-ready data (what :func:`ds500.churn_model.save_model_dir` stores).

        Floats go through ``float`` and are written by ``json`` with ``repr``, which reads
        back as the same float64: the stored formula answers exactly as the computed one.
        """

        def plain(values: Any) -> list[Any]:
            return [v.item() if isinstance(v, np.generic) else v for v in values]

        blocks = []
        for block in self.blocks:
            entry: dict[str, Any] = {"kind": block.kind, "columns": list(block.columns)}
            if block.kind == "onehot":
                entry["categories"] = [plain(c) for c in block.categories]
            for key in ("center", "scale"):
                value = getattr(block, key)
                if value is not None:
                    entry[key] = [float(v) for v in value]
            blocks.append(entry)
        return {"blocks": blocks, "weights": [float(w) for w in self.weights], "bias": float(self.bias)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompiledPipeline:
        """Read a formula written by :meth:`to_dict`.

        Raises:
            ValueError: if ``data`` is not such a formula (which part is wrong), or its
                blocks and weights disagree in width.
        """
        try:
            blocks = []
            for entry in data["blocks"]:
                kind, columns = entry["kind"], tuple(str(c) for c in entry["columns"])
                if kind not in ("onehot", "scale", "passthrough") or not columns:
                    raise ValueError(f"a block of kind {kind!r} with columns {list(columns)}")
                vectors = {
                    key: np.asarray(entry[key], dtype=float) if key in entry else None
                    for key in ("center", "scale")
                }
                for key, vector in vectors.items():
                    if vector is not None and vector.shape != (len(columns),):
                        raise ValueError(
                            f"block {kind!r}: {key} has {vector.size} values for {len(columns)} columns"
                        )
                categories = tuple(tuple(c) for c in entry.get("categories", ())) if kind == "onehot" else ()
                if kind == "onehot" and len(categories) != len(columns):
                    raise ValueError(
                        f"one-hot block: {len(categories)} category lists for {len(columns)} columns"
                    )
                blocks.append(_Block(kind, columns, categories, vectors["center"], vectors["scale"]))
            weights, bias = np.asarray(data["weights"], dtype=float).ravel(), float(data["bias"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a compiled churn formula: {error!r}") from error
        width = _width(blocks)
        if width != weights.size:
            raise ValueError(
                f"not a compiled churn formula: {width} model columns but {weights.size} weights"
            )
        return cls(tuple(blocks), weights, bias)

    @cached_property
    def _terms(self) -> tuple[tuple[tuple[str, dict[Any, float]], ...], tuple[_DenseTerm, ...]]:
        """The formula as plain Python numbers: ``(column, {category: weight})`` for each
        one-hot column, and ``(column, center, scale, weight)`` for each other column."""
        lookups: list[tuple[str, dict[Any, float]]] = []
        dense: list[_DenseTerm] = []
        weights = self.weights.tolist()
        offset = 0
        for block in self.blocks:
            if block.kind == "onehot":
                for name, categories in zip(block.columns, block.categories, strict=True):
                    end = offset + len(categories)
                    lookups.append((name, dict(zip(categories, weights[offset:end], strict=True))))
                    offset = end
                continue
            n = len(block.columns)
            centers = [0.0] * n if block.center is None else block.center.tolist()
            scales = [1.0] * n if block.scale is None else block.scale.tolist()
            dense += zip(block.columns, centers, scales, weights[offset : offset + n], strict=True)
            offset += n
        return tuple(lookups), tuple(dense)

    def predict_proba(self, columns: Mapping[str, Any]) -> np.ndarray:
        """Churn probabilities for prepared columns (from ``churn_model.prepare_records``).

        The formula runs in plain Python, one row at a time: a one-hot column adds the
        weight of the category each row has (a category the encoder dropped adds nothing),
        any other column adds ``(x - center) / scale * weight``. For the one to a hundred
        rows of a request this is faster than NumPy, whose cost is per call, not per value;
        only the final sigmoid is one NumPy call.

        Args:
            columns: one list or 1-D array per input column, all of one length.

        Returns:
            The probability of the positive class for each row (float64).

        Raises:
            KeyError: if a column the pipeline uses is missing.
        """
        lookups, dense = self._terms
        rows = len(columns[self.blocks[0].columns[0]])
        categories = _rows([_plain(columns[name]) for name, _ in lookups], rows)
        numbers = _rows([_plain(columns[name]) for name, *_ in dense], rows)
        tables = [weight_of for _, weight_of in lookups]
        terms = [(center, scale, weight) for _, center, scale, weight in dense]
        logits = []
        for row_categories, row_numbers in zip(categories, numbers, strict=True):
            z = self.bias
            for weight_of, value in zip(tables, row_categories, strict=True):
                z += weight_of.get(value, 0.0)
            for (center, scale, weight), x in zip(terms, row_numbers, strict=True):
                z += (x - center) / scale * weight
            logits.append(z)
        return 1.0 / (1.0 + np.exp(-np.array(logits)))
