"""Clinical covariates to numbers, without looking at the outcome.

Encoding here is deterministic and label-free (ordinal maps are given by the user, one-hot
categories come from the values present), so it may run on the whole table before the
patient-grouped evaluation. Everything learned from data (imputation, scaling) happens later,
inside the training folds (:class:`radiomix.model.fuse.BlockFuser`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from radiomix.errors import InputError

log = logging.getLogger(__name__)

MISSING_TOKENS: frozenset[str] = frozenset({"", "--", "NA", "N/A", "n/a", "na", "NaN", "nan",
                                            "None", "null", "?", "#N/A"})
"""Cells read as missing in text columns, here and in every analysis
(:mod:`radiomix.analysis.data`; ``#N/A``: Excel's export of ``NA()`` and of a failed
lookup)."""


def parse_ordinal(spec: str) -> tuple[str, list[str]]:
    """Parse ``"grade=Low,Intermediate,High"`` into ``("grade", ["Low", ...])``.

    Examples
    --------
    >>> parse_ordinal("grade=Low,Intermediate,High")
    ('grade', ['Low', 'Intermediate', 'High'])
    """
    name, sep, levels = spec.partition("=")
    values = [v.strip() for v in levels.split(",") if v.strip()]
    if not sep or not name.strip() or len(values) < 2:
        raise InputError(
            f"ordinal spec {spec!r} must read COLUMN=LEVEL1,LEVEL2[,...] (lowest first), "
            "e.g. grade=Low,Intermediate,High"
        )
    return name.strip(), values


def encode_clinical(
    table: pd.DataFrame,
    columns: Sequence[str],
    *,
    ordinal: Mapping[str, Sequence[str]] | None = None,
    missing_tokens: Collection[str] = MISSING_TOKENS,
) -> pd.DataFrame:
    """Numeric design columns for clinical covariates.

    Parameters
    ----------
    table : DataFrame
        Clinical (or merged) table.
    columns : sequence of str
        Covariates to encode.
    ordinal : mapping of str to sequence of str, optional
        Ordered levels of ordinal covariates, lowest first; a level ``k`` (0-based) becomes
        the number ``k``. Values outside the list (and missing tokens) become NaN.
    missing_tokens : collection of str
        Strings read as missing (``--``, ``N/A`` ...).

    Returns
    -------
    DataFrame
        Same index. Numeric and boolean columns are kept (as float); ordinal columns become
        level numbers; other text columns become one-hot indicators named
        ``<column>=<value>`` for every value but the first in sorted order (the reference),
        NaN where the value is missing.

    Raises
    ------
    InputError
        A column is absent, or an ordinal column holds values outside its levels.

    Examples
    --------
    >>> t = pd.DataFrame({"age": [50, 60, 70], "grade": ["Low", "High", "N/A"]})
    >>> encode_clinical(t, ["age", "grade"], ordinal={"grade": ["Low", "Intermediate", "High"]})
        age  grade
    0  50.0    0.0
    1  60.0    2.0
    2  70.0    NaN
    """
    ordinal = dict(ordinal or {})
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"clinical columns not found: {missing}; the table has {list(table.columns)}"
        )
    unknown_ord = [c for c in ordinal if c not in columns]
    if unknown_ord:
        raise InputError(f"ordinal columns {unknown_ord} are not among the chosen columns")
    tokens = set(missing_tokens)
    parts: dict[str, pd.Series] = {}
    for col in columns:
        s = table[col]
        if s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == "string":
            s = s.astype(object).where(~s.astype(str).str.strip().isin(tokens), np.nan)
            s = s.where(s.isna(), s.astype(str).str.strip())
        if col in ordinal:
            levels = list(ordinal[col])
            bad = sorted({str(v) for v in s.dropna()} - set(levels))
            if bad:
                raise InputError(
                    f"column {col!r} holds values {bad} outside its ordinal levels {levels}; "
                    "list them or mark them missing"
                )
            parts[col] = s.map({lv: float(i) for i, lv in enumerate(levels)}).astype(float)
            continue
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts[col] = s.astype(float)
            continue
        numeric = pd.to_numeric(s, errors="coerce")
        if numeric.notna().sum() == s.notna().sum():
            parts[col] = numeric.astype(float)
            continue
        values = sorted({str(v) for v in s.dropna()})
        if len(values) < 2:
            log.warning("clinical column %r has fewer than 2 distinct values; dropped", col)
            continue
        for v in values[1:]:
            ind = (s == v).astype(float)
            parts[f"{col}={v}"] = ind.where(s.notna(), np.nan)
    return pd.DataFrame(parts, index=table.index)
