"""Block fusion of radiomic, deep and clinical columns (sklearn transformer).

Each block is imputed and scaled on its own, the deep block optionally reduced by PCA, and
the blocks are concatenated. Inside a :class:`~sklearn.pipeline.Pipeline` every statistic
(medians, means, standard deviations, principal axes) is learned from the training fold
only, which is what the evaluation functions of :mod:`radiomix.evaluate` rely on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError
from radiomix.model._validation import validate_data
from radiomix.model.columns import BLOCKS, FeatureName, column_block

log = logging.getLogger(__name__)

_IMPUTE = ("median", "mean", None)
_SCALE = ("standard", "robust", None)


class BlockFuser(TransformerMixin, BaseEstimator):
    """Per-block imputation, scaling and optional deep-block PCA, then concatenation.

    Parameters
    ----------
    blocks : "auto" or mapping of str to sequence of str
        ``"auto"`` assigns each column to ``radiomic``, ``deep`` or ``clinical`` from its name
        (:func:`radiomix.model.columns.column_block`; unnamed numpy columns are
        ``clinical``). A mapping ``{block: [columns]}`` lists the columns of each block
        explicitly (needs a DataFrame); columns listed nowhere are dropped. A block named
        ``deep`` receives the PCA.
    include : sequence of str, optional
        Blocks to keep (e.g. ``("radiomic",)`` for a radiomics-only arm). ``None`` keeps all.
    impute : {"median", "mean", None}
        Per-column imputation of NaN inside each block; ``None`` refuses missing values.
    scale : {"standard", "robust", None}
        Per-column scaling (z-score or median/IQR).
    deep_pca : int, float or None
        Number of principal components of the deep block (int), or fraction of variance to
        keep (float in (0, 1)); ``None`` keeps the deep columns as they are. The components
        come from the exact SVD, so they do not depend on the order of the rows.
    balance_blocks : bool
        Divide every block, after its own reduction (selection, PCA), by the square root of
        its total variance on the training rows, so that each block contributes the same total
        variance (1) to the fused vector: a 512-d embedding reduced to 10 principal components
        (variance ~100) then does not swamp seven selected radiomic features (variance 7) in
        a distance-based model such as kNN.
    reduce : mapping of str to sequence, optional
        Selection steps applied to one block after its imputation and scaling, on the
        training rows only, e.g. ``{"radiomic": ["variance", "correlation", "mrmr"]}``
        (names as :func:`radiomix.model.make_selector`, or estimators); the deep block's
        reduction is ``deep_pca``.
    random_state : int, RandomState or None
        Seed of the selection steps of ``reduce`` that draw (the PCA is exact).

    Attributes
    ----------
    blocks_ : dict of str to list of str
        Input columns of each kept block.
    block_variance_ : dict of str to float
        Total variance of each block's reduced training output (before balancing).
    selected_ : dict of str to list of str
        The columns each block's selection (``reduce``) kept, for the blocks that have one.
    fallback_ : str or None
        The block selections that kept no column passing their criterion and fell back to
        the best ones (an FDR filter on noise), ``None`` when none did.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"ct.original.stat.mean": [1.0, 2.0, None, 4.0],
    ...                   "ct.deep.r18.f000": [0.1, 0.3, 0.2, 0.4], "age": [50, 60, 70, 80]})
    >>> fuser = BlockFuser(include=("radiomic", "clinical")).fit(X)
    >>> list(fuser.get_feature_names_out())
    ['ct.original.stat.mean', 'age']
    """

    def __init__(
        self,
        *,
        blocks: str | Mapping[str, Sequence[str]] = "auto",
        include: Sequence[str] | None = None,
        impute: str | None = "median",
        scale: str | None = "standard",
        deep_pca: int | float | None = None,
        balance_blocks: bool = False,
        reduce: Mapping[str, Sequence[Any]] | None = None,
        random_state: Any = None,
    ) -> None:
        self.blocks = blocks
        self.include = include
        self.impute = impute
        self.scale = scale
        self.deep_pca = deep_pca
        self.balance_blocks = balance_blocks
        self.reduce = reduce
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.impute not in _IMPUTE:
            raise InputError(f"impute must be one of {_IMPUTE}; got {self.impute!r}")
        if self.scale not in _SCALE:
            raise InputError(f"scale must be one of {_SCALE}; got {self.scale!r}")
        pca = self.deep_pca
        if pca is not None and not (
            (isinstance(pca, (int, np.integer)) and not isinstance(pca, bool) and pca >= 1)
            or (isinstance(pca, float) and 0.0 < pca < 1.0)
        ):
            raise InputError(
                f"deep_pca must be a positive int (components) or a float in (0, 1) "
                f"(variance fraction); got {pca!r}"
            )
        if not (self.blocks == "auto" or isinstance(self.blocks, Mapping)):
            raise InputError(f"blocks must be 'auto' or a mapping of lists; got {self.blocks!r}")

    def _assign(self, names: list[str], named: bool) -> dict[str, list[int]]:
        if self.blocks == "auto":
            groups: dict[str, list[int]] = {b: [] for b in BLOCKS}
            for i, c in enumerate(names):
                groups[column_block(c) if named else "clinical"].append(i)
        else:
            if not named:
                raise InputError("explicit blocks need a DataFrame with column names; got an array")
            index = {c: i for i, c in enumerate(names)}
            groups = {}
            seen: dict[str, str] = {}
            for block, cols in self.blocks.items():  # type: ignore[union-attr]
                if isinstance(cols, str):
                    raise InputError(f"block {block!r} must list columns, not a string {cols!r}")
                absent = [c for c in cols if c not in index]
                if absent:
                    raise InputError(f"block {block!r} lists columns absent from X: {absent}")
                for c in cols:
                    if c in seen:
                        raise InputError(f"column {c!r} is in blocks {seen[c]!r} and {block!r}")
                    seen[c] = block
                groups[str(block)] = [index[c] for c in cols]
        if self.include is not None:
            unknown = [b for b in self.include if b not in groups]
            if unknown:
                raise InputError(f"include names unknown blocks {unknown}; known: {list(groups)}")
            groups = {b: groups[b] for b in self.include}
        groups = {b: idx for b, idx in groups.items() if idx}
        if not groups:
            raise InputError(
                f"no column left after choosing blocks (include={self.include!r}); "
                f"columns seen: {names[:5]}{' ...' if len(names) > 5 else ''}"
            )
        return groups

    def _block_pipeline(self, block: str, n_samples: int, n_cols: int,
                        names: Sequence[str] = ()) -> Pipeline:
        steps: list[tuple[str, Any]] = []
        if self.impute is not None:
            levels = indicator_groups(names)
            if levels:
                steps.append(("levels", LevelImputer(groups=levels)))
            steps.append(("impute", SimpleImputer(strategy=self.impute, keep_empty_features=True)))
        if self.scale == "standard":
            steps.append(("scale", StandardScaler()))
        elif self.scale == "robust":
            steps.append(("scale", RobustScaler()))
        if block == "deep" and self.deep_pca is not None:
            n_comp: int | float = self.deep_pca
            if isinstance(n_comp, (int, np.integer)) and n_comp > min(n_samples, n_cols):
                log.warning(
                    "deep_pca=%d exceeds min(n_samples=%d, n_columns=%d); using %d components",
                    n_comp,
                    n_samples,
                    n_cols,
                    min(n_samples, n_cols),
                )
                n_comp = min(n_samples, n_cols)
            # the exact SVD: the randomized solver scikit-learn picks for wide blocks is an
            # approximation whose components moved with the order of the rows (predictions
            # of a deep arm by up to 0.03 when the feature table was reordered)
            steps.append(("pca", PCA(n_components=n_comp, svd_solver="full")))
        for i, sel in enumerate((self.reduce or {}).get(block, ())):
            from sklearn.base import clone

            from radiomix.model.classifiers import make_selector

            est = (make_selector(sel, random_state=self.random_state) if isinstance(sel, str)
                   else clone(sel))
            steps.append((f"select{i}", est))
        if not steps:
            steps.append(("identity", "passthrough"))
        return Pipeline(steps)

    def fit(self, X: Any, y: Any = None) -> BlockFuser:
        """Learn the per-block imputation, scaling and PCA from ``X``.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
            Numeric features; NaN allowed when ``impute`` is set.
        y : array-like of shape (n_samples,), optional
            Labels; used only by the block selection steps of ``reduce``.

        Returns
        -------
        self
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        if self.impute is None and np.isnan(X).any():
            raise InputError("X holds NaN and impute=None; choose impute='median' or 'mean'")
        named = hasattr(self, "feature_names_in_")
        names = (
            [str(c) for c in self.feature_names_in_]
            if named
            else [f"x{i}" for i in range(X.shape[1])]
        )
        groups = self._assign(names, named)
        self.blocks_ = {b: [names[i] for i in idx] for b, idx in groups.items()}
        self._block_index = groups
        self._pipes = {}
        out_names: list[str] = []
        self._weights = {}
        unknown = sorted(set(self.reduce or {}) - set(groups))
        if unknown:
            raise InputError(f"reduce names blocks {unknown} that are not among {list(groups)}")
        self.block_variance_ = {}
        self.selected_: dict[str, list[str]] = {}
        fallbacks: list[str] = []
        for b, idx in groups.items():
            pipe = self._block_pipeline(b, X.shape[0], len(idx), self.blocks_[b])
            Z = pipe.fit_transform(X[:, idx], y)
            self._pipes[b] = pipe
            fallbacks += [f"{b} block: {step.fallback_}" for name, step in pipe.steps
                          if name.startswith("select") and getattr(step, "fallback_", None)]
            if "pca" in pipe.named_steps:
                k = int(pipe.named_steps["pca"].n_components_)
                names = [f"{_pca_prefix(self.blocks_[b])}.pc{i:03d}" for i in range(k)]
            else:
                names = list(self.blocks_[b])
                for name, step in pipe.steps:
                    if name.startswith("select"):
                        names = [n for n, keep in zip(names, step.get_support(), strict=True)
                                 if keep]
                        self.selected_[b] = list(names)
            out_names.extend(names)
            total = float(np.var(Z, axis=0).sum()) if Z.size else 0.0
            self.block_variance_[b] = total
            self._weights[b] = (1.0 / np.sqrt(total) if self.balance_blocks and total > 0
                                else 1.0)
        self._out_names = np.asarray(out_names, dtype=object)
        # a block selection that kept no column passing its criterion (and kept the best
        # ones instead), read by radiomix.evaluate.validate.selection_record
        self.fallback_ = "; ".join(fallbacks) or None
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Impute, scale, reduce and concatenate the blocks of ``X``.

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
        """
        check_is_fitted(self, "_pipes")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        if self.impute is None and np.isnan(X).any():
            raise InputError("X holds NaN and impute=None; choose impute='median' or 'mean'")
        parts = [
            self._pipes[b].transform(X[:, idx]) * self._weights[b]
            for b, idx in self._block_index.items()
        ]
        return np.hstack(parts).astype(np.float64, copy=False)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: kept input names, and ``<tag>.deep.<model>.pcNNN`` for PCA."""
        check_is_fitted(self, "_out_names")
        return self._out_names.copy()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def indicator_groups(names: Sequence[str]) -> list[list[int]]:
    """Positions of the indicator columns of each categorical covariate among ``names``:
    the columns ``<covariate>=<level>`` that :func:`radiomix.analysis.data.build_table`
    writes (one per level but the reference), grouped by covariate, in order."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        head, sep, _ = str(name).partition("=")
        if sep and head and FeatureName.parse(str(name)) is None:
            groups.setdefault(head, []).append(i)
    return list(groups.values())


class LevelImputer(TransformerMixin, BaseEstimator):
    """Impute a categorical covariate's missing value by its most frequent level.

    A categorical covariate enters the models as indicator columns (one per level but the
    reference), all missing together. Imputed column by column (the median of each), a
    covariate split 48/48 would enter as 0.5 "male", a level nobody has, and a covariate of
    several levels would take the reference level (all indicators at their median 0)
    however rare. Here each group of indicators takes the level held by most training rows
    (the reference level counted as the rows with every indicator 0; ties go to the first
    of reference, then the levels in order); other columns pass through.

    Parameters
    ----------
    groups : list of list of int
        Column positions of each covariate's indicators (:func:`indicator_groups`).
    """

    def __init__(self, groups: Sequence[Sequence[int]] = ()) -> None:
        self.groups = groups

    def fit(self, X: Any, y: Any = None) -> LevelImputer:
        """Learn each group's most frequent level from the rows where it is known."""
        X = np.asarray(X, dtype=np.float64)
        self.fills_: list[np.ndarray | None] = []
        for cols in self.groups:
            part = X[:, list(cols)]
            known = part[~np.isnan(part).any(axis=1)]
            if not len(known):
                self.fills_.append(None)  # nothing to learn from: left to the next imputer
                continue
            counts = [int(np.count_nonzero((known == 0).all(axis=1)))]
            counts += [int(np.count_nonzero(known[:, j] == 1)) for j in range(len(cols))]
            best = int(np.argmax(counts))  # first of the most frequent
            fill = np.zeros(len(cols))
            if best > 0:
                fill[best - 1] = 1.0
            self.fills_.append(fill)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Fill the rows where a group is missing with its most frequent level."""
        check_is_fitted(self, "fills_")
        X = np.array(X, dtype=np.float64, copy=True)
        for cols, fill in zip(self.groups, self.fills_, strict=True):
            if fill is None:
                continue
            idx = list(cols)
            missing = np.isnan(X[:, idx]).any(axis=1)
            if missing.any():
                X[np.ix_(missing, idx)] = fill
        return X


def _pca_prefix(columns: Sequence[str]) -> str:
    parsed = [FeatureName.parse(c) for c in columns]
    heads = {(p.tag, p.filter, p.family) for p in parsed if p is not None}
    if len(heads) == 1 and all(p is not None for p in parsed):
        tag, filt, fam = heads.pop()
        return f"{tag}.{filt}.{fam}"
    return "mixed.deep.pca"
