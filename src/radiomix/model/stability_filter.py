"""Keep the features that are robust to image perturbation (sklearn selector step).

The stability table (``stability.parquet`` of ``radiomix stability``,
:func:`radiomix.stability.feature_icc`) holds one ICC(1,1) with its 95 % confidence
interval per feature column. :class:`StabilitySelector` keeps the columns whose lower
bound reaches a threshold (Zwanenburg et al. 2019; 0.75 is "good" reliability in Koo & Li
2016). The ICC uses no outcome, so computing it once on all cases leaks nothing into the
model; the selector is a pipeline step so that the report shows, per arm, how many
features of each family it kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError, SettingsError
from radiomix.model.columns import FeatureName

__all__ = ["StabilitySelector", "read_stability_table"]

log = logging.getLogger(__name__)

Missing = Literal["drop", "keep"]
_REQUIRED = ("feature", "ci_low")


def read_stability_table(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Load and check a stability table (path to Parquet/CSV, or a DataFrame).

    Raises
    ------
    InputError
        The file is missing, unreadable, lacks the ``feature`` / ``ci_low`` columns, or
        names a feature twice.
    """
    if isinstance(source, pd.DataFrame):
        table = source
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(
                f"stability table {path} not found; write it with 'radiomix stability "
                "STUDY --out DIR' (DIR/stability.parquet)"
            )
        try:
            table = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"stability table {path} cannot be read: {exc}") from exc
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise InputError(
            f"stability table lacks the column(s) {', '.join(missing)} (columns found: "
            f"{', '.join(map(str, table.columns[:8]))})"
        )
    dup = table["feature"][table["feature"].duplicated()]
    if len(dup):
        raise InputError(
            f"stability table names feature {dup.iloc[0]!r} more than once; one row per feature"
        )
    return table


class StabilitySelector(SelectorMixin, BaseEstimator):
    """Keep feature columns whose ICC lower 95 % bound is at least ``threshold``.

    Parameters
    ----------
    stability : str, path or DataFrame
        The stability table: columns ``feature`` (column name) and ``ci_low`` (lower bound
        of the ICC's 95 % interval), as written by ``radiomix stability``.
    threshold : float
        Minimum lower bound, in [-1, 1] (default 0.75).
    missing : {"drop", "keep"}
        Columns absent from the table (or with a NaN bound, e.g. constant features):
        ``"drop"`` (default) removes them; ``"keep"`` keeps them, for example clinical
        columns or features whose robustness was not assessed.
    clinical : {"keep", "apply"}
        Columns that are not feature columns (``age``, ``grade``: no ``<tag>.<filter>.``
        name): ``"keep"`` (default) passes them through whatever ``missing`` says, since
        perturbations say nothing about them; ``"apply"`` treats them like any column.

    Attributes
    ----------
    support_ : ndarray of bool
        Kept columns.
    feature_names_in_ : ndarray of str
        Input columns.
    family_counts_ : DataFrame
        Per family (``family`` of the column name; ``clinical`` for other columns):
        ``n_in``, ``n_kept``, ``n_unassessed`` (absent from the table or NaN bound).

    Notes
    -----
    The selector needs column names: fit it on a DataFrame, or after a step that keeps
    names (:class:`~radiomix.model.fuse.BlockFuser` with ``set_output(transform="pandas")``).
    :meth:`transform` returns a DataFrame, so the selector can come first in an arm, before
    :class:`~radiomix.model.harmonise.ComBatHarmoniser` (which needs the centre column,
    kept here as a non-feature column) and the block fuser.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"feature": ["ct.original.stat.mean", "ct.original.glcm.contrast"],
    ...                       "ci_low": [0.9, 0.4]})
    >>> X = pd.DataFrame({"ct.original.stat.mean": [1.0, 2.0],
    ...                   "ct.original.glcm.contrast": [3.0, 1.0], "age": [50.0, 60.0]})
    >>> list(StabilitySelector(table).fit(X).get_feature_names_out())
    ['ct.original.stat.mean', 'age']
    """

    def __init__(
        self,
        stability: Any = None,
        *,
        threshold: float = 0.75,
        missing: Missing = "drop",
        clinical: Literal["keep", "apply"] = "keep",
    ) -> None:
        self.stability = stability
        self.threshold = threshold
        self.missing = missing
        self.clinical = clinical

    def _check_params(self) -> None:
        if self.stability is None:
            raise SettingsError(
                "StabilitySelector needs a stability table (path to stability.parquet or a "
                "DataFrame); write one with 'radiomix stability'"
            )
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not -1.0 <= t <= 1.0:
            raise SettingsError(f"threshold must be a number in [-1, 1], got {t!r}")
        if self.missing not in ("drop", "keep"):
            raise SettingsError(f"missing must be 'drop' or 'keep', got {self.missing!r}")
        if self.clinical not in ("keep", "apply"):
            raise SettingsError(f"clinical must be 'keep' or 'apply', got {self.clinical!r}")

    def fit(self, X: Any, y: Any = None) -> StabilitySelector:
        """Choose the columns from the stability table (``X`` gives only the names).

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
        y : ignored (the ICC uses no outcome)

        Returns
        -------
        self

        Raises
        ------
        InputError
            ``X`` has no column names, or the stability table is unusable.
        SettingsError
            Bad parameters.
        """
        self._check_params()
        names = getattr(X, "columns", None)
        if names is None:
            raise InputError(
                "StabilitySelector needs column names: pass a DataFrame (or put "
                "set_output(transform='pandas') on the previous step)"
            )
        names = [str(c) for c in names]
        table = read_stability_table(self.stability)
        bound = dict(zip(table["feature"].astype(str), table["ci_low"].astype(float), strict=True))
        support = np.zeros(len(names), dtype=bool)
        rows: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            parsed = FeatureName.parse(name)
            family = parsed.family if parsed is not None else "clinical"
            value = bound.get(name, np.nan)
            unassessed = not np.isfinite(value)
            if parsed is None and self.clinical == "keep":
                keep = True
            elif unassessed:
                keep = self.missing == "keep"
            else:
                keep = value >= self.threshold
            support[i] = keep
            rows.append({"family": family, "kept": keep, "unassessed": unassessed})
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.support_ = support
        frame = pd.DataFrame(rows, columns=["family", "kept", "unassessed"])
        self.family_counts_ = (
            frame.groupby("family", sort=True)
            .agg(n_in=("kept", "size"), n_kept=("kept", "sum"), n_unassessed=("unassessed", "sum"))
            .astype(int)
            .reset_index()
        )
        if not support.any():
            log.warning("StabilitySelector keeps no column at threshold %s", self.threshold)
        return self

    def transform(self, X: Any) -> Any:
        """The kept columns of ``X``, as a DataFrame (dtypes, index and names unchanged).

        Non-numeric columns (a centre column for a later
        :class:`~radiomix.model.harmonise.ComBatHarmoniser`) pass through as they are.

        Raises
        ------
        InputError
            ``X`` has no column names or lacks a kept column.
        """
        check_is_fitted(self, "support_")
        if not isinstance(X, pd.DataFrame):
            raise InputError(
                "StabilitySelector.transform needs a DataFrame with the fitted column names; "
                f"got {type(X).__name__}"
            )
        keep = list(self.get_feature_names_out())
        missing = [c for c in keep if c not in X.columns]
        if missing:
            raise InputError(
                f"column(s) {', '.join(map(repr, missing[:5]))} seen in fit are missing"
            )
        return X.loc[:, keep].copy()

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the kept columns."""
        check_is_fitted(self, "support_")
        return self.feature_names_in_[self.support_]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
