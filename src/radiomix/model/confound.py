"""Confounding checks of selected features: tumour volume and centre.

Many published radiomic signatures are surrogates of tumour size (Welch et al. 2019) or of
the centre that acquired the image. :func:`volume_confounding` reports, for every feature an
arm selected, its Spearman correlation with tumour volume and (optionally) its association
with the centre, so that the analysis engine can show them per arm next to a "volume only"
baseline arm. :func:`volume_column` picks the volume column of a radiomix table.

References
----------
Welch ML, McIntosh C, Haibe-Kains B, et al. Vulnerabilities of radiomic signature
development: the need for safeguards. Radiother Oncol 2019;130:2-9.
Kruskal WH, Wallis WA. Use of ranks in one-criterion variance analysis. J Am Stat Assoc
1952;47(260):583-621.
Tomczak M, Tomczak E. The need to report effect size estimates revisited. Trends Sport Sci
2014;1(21):19-25 (eta-squared of the Kruskal-Wallis H).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radiomix.errors import InputError
from radiomix.model.columns import FeatureName

__all__ = ["CONFOUND_COLUMNS", "find_volume_column", "volume_column", "volume_confounding"]

VOLUME_FEATURES: tuple[str, ...] = ("volume_mesh", "volume_voxels")
"""Morphology volume features in order of preference: mesh volume (IBSI RNU0) before voxel
volume (YEKZ, the count of ROI voxels times the voxel volume)."""

CONFOUND_COLUMNS: tuple[str, ...] = (
    "feature",
    "family",
    "n",
    "volume_rho",
    "volume_p",
    "volume_abs_rho",
    "volume_strong",
    "centre_h",
    "centre_eta2",
    "centre_p",
)


def volume_column(columns: Iterable[str], tags: Sequence[str] | None = None) -> str | None:
    """The tumour-volume column of a radiomix table, ``None`` when it has none.

    The mesh volume (RNU0) of the first tag that has one, else the voxel volume (YEKZ) of
    the first tag that has one; tags in ``tags`` order, else in table order. ``tags``
    empty: none (no tag's ROI is the tumour, :func:`radiomix.analysis.data.tumour_tags`).

    Examples
    --------
    >>> volume_column(["pet.original.morph.volume_voxels", "ct.original.morph.volume_mesh"])
    'ct.original.morph.volume_mesh'
    >>> volume_column(["ring.original.morph.volume_mesh", "ct.original.morph.volume_mesh"],
    ...               tags=["ct"])
    'ct.original.morph.volume_mesh'
    """
    by_tag: dict[str, dict[str, str]] = {}
    for c in columns:
        name = FeatureName.parse(str(c))
        if (
            name is not None
            and name.filter == "original"
            and name.family == "morph"
            and name.feature in VOLUME_FEATURES
            and name.aggregation is None
        ):
            by_tag.setdefault(name.tag, {})[name.feature] = str(c)
    order = list(by_tag) if tags is None else list(tags)
    for feat in VOLUME_FEATURES:
        for tag in order:
            if feat in by_tag.get(tag, {}):
                return by_tag[tag][feat]
    return None


def find_volume_column(columns: Iterable[str], *, tag: str | None = None) -> str:
    """Name of the tumour-volume column of a radiomix feature table (:func:`volume_column`).

    Parameters
    ----------
    columns : iterable of str
        Column names of the table.
    tag : str, optional
        Image tag whose volume to use; ``None``: the first tag that has one (mesh volumes
        before voxel volumes; the same lesion's volume on different images differs little).

    Returns
    -------
    str
        ``<tag>.original.morph.volume_mesh``, or ``<tag>.original.morph.volume_voxels``
        when the table has no mesh volume.

    Raises
    ------
    InputError
        No volume column (for that tag).

    Examples
    --------
    >>> find_volume_column(["age", "ct.original.morph.volume_voxels",
    ...                     "ct.original.morph.volume_mesh"])
    'ct.original.morph.volume_mesh'
    """
    cols = [str(c) for c in columns]
    found = volume_column(cols, None if tag is None else [tag])
    if found is not None:
        return found
    if tag is not None:
        with_volume = [t for t in dict.fromkeys(
            c.split(".")[0] for c in cols) if volume_column(cols, [t])]
        raise InputError(
            f"no volume column for tag {tag!r} (expected {tag}.original.morph."
            f"volume_mesh or volume_voxels; tags with a volume: "
            f"{', '.join(with_volume) or 'none'})"
        )
    raise InputError(
        "the table has no volume column (<tag>.original.morph.volume_mesh or "
        "volume_voxels); extract the morph family to check confounding by volume"
    )


def _as_1d(values: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != n:
        raise InputError(
            f"{what} must have one value per row of the features ({n}); got shape {arr.shape}"
        )
    return arr


def volume_confounding(
    X_selected: pd.DataFrame,
    volume: Any,
    centre: Any = None,
    *,
    strong: float = 0.7,
) -> pd.DataFrame:
    """Spearman correlation of every feature with tumour volume, and association with centre.

    Parameters
    ----------
    X_selected : DataFrame of shape (n_samples, n_features)
        The features an arm selected (column names kept).
    volume : array-like of shape (n_samples,)
        Tumour volume of each row (e.g. ``table[find_volume_column(table.columns)]``).
    centre : array-like of shape (n_samples,), optional
        Centre (site, scanner) of each row.
    strong : float
        ``volume_strong`` is true when ``|rho| >= strong`` (default 0.7).

    Returns
    -------
    DataFrame
        One row per feature, columns :data:`CONFOUND_COLUMNS`: ``n`` (rows with both
        values), ``volume_rho`` and ``volume_p`` (Spearman, two-sided), ``volume_abs_rho``,
        ``volume_strong``; with ``centre``: ``centre_h`` and ``centre_p`` (Kruskal-Wallis H
        test over centres) and ``centre_eta2`` (its effect size
        :math:`\\eta^2_H = (H - k + 1) / (n - k)`, 0 when the centres do not differ, about 1
        when the feature identifies the centre); NaN without ``centre``, for a constant
        feature, or with fewer than two centres.

    Raises
    ------
    InputError
        ``X_selected`` is not a DataFrame, or ``volume`` / ``centre`` have the wrong length.

    Notes
    -----
    Rows with a missing feature, volume or centre are left out pairwise (per feature). The
    volume column itself, when selected, has rho 1.

    Examples
    --------
    >>> X = pd.DataFrame({"ct.original.stat.mean": [1.0, 2.0, 3.0, 4.0]})
    >>> float(volume_confounding(X, [10, 20, 30, 40]).volume_rho.iloc[0])
    1.0
    """
    from scipy.stats import kruskal, spearmanr

    if not isinstance(X_selected, pd.DataFrame):
        raise InputError(
            f"X_selected must be a DataFrame with the selected feature names; got "
            f"{type(X_selected).__name__}"
        )
    n = len(X_selected)
    vol = pd.to_numeric(pd.Series(_as_1d(volume, n, "volume")), errors="coerce").to_numpy(
        dtype=np.float64
    )
    cen = None
    if centre is not None:
        cen = pd.Series(_as_1d(centre, n, "centre"), dtype=object)
        cen = cen.where(cen.notna(), None).to_numpy()
    rows: list[dict[str, Any]] = []
    for col in X_selected.columns:
        name = FeatureName.parse(str(col))
        x = pd.to_numeric(X_selected[col], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(vol)
        rho = p = np.nan
        if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(vol[ok]) > 0:
            res = spearmanr(x[ok], vol[ok])
            rho, p = float(res.statistic), float(res.pvalue)
        h = eta2 = cp = np.nan
        if cen is not None:
            okc = np.isfinite(x) & np.array([c is not None for c in cen])
            labels = cen[okc].astype(str)
            levels = np.unique(labels)
            xs = x[okc]
            if len(levels) >= 2 and np.ptp(xs) > 0 and len(xs) > len(levels):
                res_k = kruskal(*[xs[labels == lv] for lv in levels])
                h, cp = float(res_k.statistic), float(res_k.pvalue)
                eta2 = (h - len(levels) + 1) / (len(xs) - len(levels))
        rows.append(
            {
                "feature": str(col),
                "family": name.family if name is not None else "clinical",
                "n": int(ok.sum()),
                "volume_rho": rho,
                "volume_p": p,
                "volume_abs_rho": abs(rho),
                "volume_strong": bool(abs(rho) >= strong) if np.isfinite(rho) else False,
                "centre_h": h,
                "centre_eta2": eta2,
                "centre_p": cp,
            }
        )
    return pd.DataFrame(rows, columns=list(CONFOUND_COLUMNS))
