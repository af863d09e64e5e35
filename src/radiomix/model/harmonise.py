"""ComBat harmonisation of feature tables as a scikit-learn transformer (fit on training rows).

Centre (scanner, protocol) effects shift and scale radiomic features. ComBat (Johnson et
al. 2007; for radiomics Orlhac et al. 2018) models every feature as

.. math::

    y_{ibg} = \\alpha_g + x_i^\\top \\beta_g + \\gamma_{bg} + \\delta_{bg} \\varepsilon_{ibg}

(feature :math:`g`, centre :math:`b`, row :math:`i`, covariates :math:`x_i` whose effect
is preserved), shrinks the centre effects :math:`\\gamma_{bg}` (additive) and
:math:`\\delta_{bg}` (multiplicative) towards the mean over features by empirical Bayes, and
removes them. :class:`ComBatHarmoniser` learns every estimate in :meth:`fit` and applies
them unchanged in :meth:`transform`, so inside a :class:`~sklearn.pipeline.Pipeline`
evaluated with patient-grouped cross-validation the estimates come from the training fold
only. There is deliberately no function that harmonises a whole table at once: harmonising
all patients before the split leaks test-fold information into the model.

Why not neuroHarmonize. Its learn/apply split is the design copied here, but version 2.5.2
(the only one on PyPI) requires ``numpy<2`` (installing it would downgrade radiomix's numpy
2.x), and its ``harmonizationApply`` fails with a shape error on a subset of rows that lacks
some of the training sites, as a small test fold can (it rebuilds the batch design from the
sites present in the rows it is given); a subset holding every site works. The estimates here follow
Johnson et al. (2007) and the conventions of neuroCombat/neuroHarmonize (pooled variance
over ``n`` rows, batch-size-weighted grand mean, the same iteration and stopping rule);
``tests/model/test_harmonise_oracle.py`` compares the result with neuroHarmonize's.

References
----------
Johnson WE, Li C, Rabinovic A. Adjusting batch effects in microarray expression data using
empirical Bayes methods. Biostatistics 2007;8(1):118-127. doi:10.1093/biostatistics/kxj037
Fortin JP, Cullen N, Sheline YI, et al. Harmonization of cortical thickness measurements
across scanners and sites. NeuroImage 2018;167:104-120 (neuroCombat).
Pomponio R, Erus G, Habes M, et al. Harmonization of large MRI datasets for the analysis of
brain imaging patterns throughout the lifespan. NeuroImage 2020;208:116450 (neuroHarmonize).
Orlhac F, Boughdad S, Philippe C, et al. A postreconstruction harmonization method for
multicenter radiomic studies in PET. J Nucl Med 2018;59(8):1321-1328.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from radiomix.errors import InputError, SettingsError
from radiomix.model.columns import column_block

__all__ = ["ComBatHarmoniser"]

log = logging.getLogger(__name__)

UnseenBatch = Literal["error", "passthrough"]


def _eb_batch(
    z: np.ndarray,
    gamma_hat: np.ndarray,
    delta_hat: np.ndarray,
    n: np.ndarray,
    *,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Empirical-Bayes estimates of one batch (Johnson et al. 2007, eqs. 3.1-3.2).

    ``z`` is (rows, features) standardised data of the batch (NaN where missing), ``n`` the
    observed rows per feature. Returns gamma*, delta*, converged.
    """
    g_bar = float(np.mean(gamma_hat))
    tau2 = float(np.var(gamma_hat, ddof=1))
    m = float(np.mean(delta_hat))
    s2 = float(np.var(delta_hat, ddof=1))
    if not (tau2 > 0 and s2 > 0 and np.isfinite(tau2) and np.isfinite(s2)):
        return gamma_hat, delta_hat, True  # no spread over features: nothing to shrink
    a = (2.0 * s2 + m**2) / s2  # inverse-gamma prior of delta (method of moments)
    b = (m * s2 + m**3) / s2
    g_old, d_old = gamma_hat.copy(), delta_hat.copy()
    for _ in range(max_iter):
        g_new = (tau2 * n * gamma_hat + d_old * g_bar) / (tau2 * n + d_old)
        ss = np.nansum((z - g_new) ** 2, axis=0)
        d_new = (0.5 * ss + b) / (n / 2.0 + a - 1.0)
        change = max(
            float(np.max(np.abs(g_new - g_old) / np.abs(g_old))),
            float(np.max(np.abs(d_new - d_old) / np.abs(d_old))),
        )
        g_old, d_old = g_new, d_new
        if change < tol:
            return g_new, d_new, True
    return g_old, d_old, False


class ComBatHarmoniser(TransformerMixin, BaseEstimator):
    """ComBat harmonisation of feature columns across centres (Johnson et al. 2007).

    Parameters
    ----------
    batch : str
        Name of the column holding the centre (scanner, protocol) of each row. ``X`` must be
        a DataFrame with this column.
    covariates : sequence of str
        Columns whose effect on the features is preserved (e.g. ``age``, ``grade``; never the
        outcome). Numeric columns enter the model as they are; other columns are one-hot
        coded from their training levels (first level dropped).
    features : "auto" or sequence of str
        Columns to harmonise. ``"auto"``: every radiomic and deep feature column
        (``<tag>.<filter>.<family>.<feature>``, :func:`radiomix.model.columns.column_block`).
        Other columns pass through unchanged.
    empirical_bayes : bool
        Shrink the centre estimates towards their mean over features (ComBat). ``False``
        uses the per-feature location/scale estimates as they are ("L/S" adjustment).
    unseen_batch : {"error", "passthrough"}
        A centre absent from the training rows at :meth:`transform`: ``"error"`` (default)
        raises :class:`~radiomix.errors.InputError`; ``"passthrough"`` leaves its rows
        unchanged (no estimate exists for that centre) and logs a warning.
    drop_batch : bool
        Leave the batch column out of the output (default), so later steps see only
        features and covariates.
    batch_label : str, optional
        The batch column's name as the user knows it, for messages (the analysis engine
        passes codes in an internal column; default: ``batch``).
    batch_names : mapping of str to str, optional
        Centre as written by the user, by the batch column's value (as text), for messages.
    max_iter : int
        Iteration limit of the empirical-Bayes estimates.
    tol : float
        Stopping rule: largest relative change of gamma* and delta* below ``tol``
        (neuroCombat's 1e-4).

    Attributes
    ----------
    batches_ : ndarray of object
        Training centres, in sorted order.
    features_ : list of str
        Harmonised columns.
    passthrough_features_ : list of str
        Selected columns left unchanged because they are constant over the training rows
        or within a training centre, or have fewer than two values in a training centre (no
        scale to estimate).
    grand_mean_ : ndarray of shape (n_features,)
        :math:`\\alpha_g`: the batch-size-weighted mean of the centre intercepts.
    beta_ : ndarray of shape (n_covariate_terms, n_features)
        Covariate effects.
    var_pooled_ : ndarray of shape (n_features,)
        Pooled residual variance :math:`\\sigma_g^2` (divided by the number of rows).
    gamma_star_, delta_star_ : ndarray of shape (n_batches, n_features)
        Additive and multiplicative centre effects after shrinkage.
    gamma_hat_, delta_hat_ : ndarray of shape (n_batches, n_features)
        The same before shrinkage.
    covariate_levels_ : dict of str to list
        Training levels of each categorical covariate.
    converged_ : bool
        Whether every empirical-Bayes iteration met ``tol``.
    feature_names_in_ : ndarray of str
        Input columns.

    Notes
    -----
    Rows with a missing value (NaN) of a feature are left out of that feature's estimates
    and stay missing in the output; an infinite value is refused
    (:class:`~radiomix.errors.InputError` naming the column) (impute after harmonising, e.g. in
    :class:`~radiomix.model.fuse.BlockFuser`). Each training centre needs at least two rows;
    at least two centres are needed.

    :meth:`transform` returns a DataFrame with the input's index and columns (less the
    batch column when ``drop_batch``), so the feature names reach the next pipeline step.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(40, 3)),
    ...                  columns=[f"ct.original.stat.f{i}" for i in range(3)])
    >>> X["centre"] = ["A"] * 20 + ["B"] * 20
    >>> X.loc[X.centre == "B", "ct.original.stat.f0"] += 5.0
    >>> out = ComBatHarmoniser(batch="centre").fit(X).transform(X)
    >>> gap = (out["ct.original.stat.f0"][X.centre == "B"].mean()
    ...        - out["ct.original.stat.f0"][X.centre == "A"].mean())
    >>> bool(abs(gap) < 0.5)
    True
    """

    def __init__(
        self,
        batch: str = "centre",
        *,
        covariates: Sequence[str] = (),
        features: str | Sequence[str] = "auto",
        empirical_bayes: bool = True,
        unseen_batch: UnseenBatch = "error",
        drop_batch: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-4,
        batch_label: str | None = None,
        batch_names: Mapping[str, str] | None = None,
    ) -> None:
        self.batch = batch
        self.covariates = covariates
        self.features = features
        self.empirical_bayes = empirical_bayes
        self.unseen_batch = unseen_batch
        self.drop_batch = drop_batch
        self.max_iter = max_iter
        self.tol = tol
        self.batch_label = batch_label
        self.batch_names = batch_names

    def _label(self) -> str:
        """The batch column as the user named it."""
        return self.batch_label or self.batch

    def _name(self, level: Any) -> str:
        """A batch value as the user wrote it."""
        names = self.batch_names or {}
        return str(names.get(str(level), level))

    # ------------------------------------------------------------------ checks

    def _check_params(self) -> None:
        if not isinstance(self.batch, str) or not self.batch:
            raise SettingsError(f"batch must name the centre column, got {self.batch!r}")
        if isinstance(self.covariates, str):
            raise SettingsError(
                f"covariates must be a list of column names, got the string {self.covariates!r}"
            )
        if self.unseen_batch not in ("error", "passthrough"):
            raise SettingsError(
                f"unseen_batch must be 'error' or 'passthrough', got {self.unseen_batch!r}"
            )
        if not isinstance(self.features, str) and isinstance(self.features, Sequence):
            pass
        elif self.features != "auto":
            raise SettingsError(
                f"features must be 'auto' or a list of column names, got {self.features!r}"
            )
        it = self.max_iter
        if isinstance(it, bool) or not isinstance(it, int) or it < 1:
            raise SettingsError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        if not (isinstance(self.tol, (int, float)) and self.tol > 0):
            raise SettingsError(f"tol must be a positive number, got {self.tol!r}")

    def _frame(self, X: Any, *, where: str) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise InputError(
                f"ComBatHarmoniser.{where} needs a DataFrame with the batch column "
                f"{self.batch!r}; got {type(X).__name__} (pass the feature table, not an array)"
            )
        missing = [c for c in (self.batch, *self.covariates) if c not in X.columns]
        if missing:
            raise InputError(
                f"ComBatHarmoniser: column(s) {', '.join(map(repr, missing))} not in the table "
                "(the batch column and covariates are declared by name)"
            )
        if X[self.batch].isna().any():
            raise InputError(
                f"batch column {self._label()!r} has {int(X[self.batch].isna().sum())} missing "
                "value(s); every row needs its centre"
            )
        return X

    def _check_finite(self, X: pd.DataFrame, cols: Sequence[str], *, what: str) -> None:
        """Refuse +-inf (NaN marks a missing value and is allowed): one infinite cell would
        make the pooled variance of its feature infinite, and the empirical-Bayes priors
        shared by every feature undefined."""
        for col in cols:
            values = X[col]
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                continue
            bad = np.isinf(values.to_numpy(dtype=np.float64))
            if bad.any():
                raise InputError(
                    f"{what} column {col!r}, row {X.index[int(np.flatnonzero(bad)[0])]!r}: "
                    f"infinite value ({int(bad.sum())} in the column); every value must be "
                    "finite: fix or drop it (or set it missing) before harmonising"
                )

    def _covariate_matrix(self, X: pd.DataFrame, *, fit: bool) -> np.ndarray:
        blocks: list[np.ndarray] = []
        if fit:
            self.covariate_levels_: dict[str, list[Any]] = {}
        for col in self.covariates:
            values = X[col]
            if values.isna().any():
                raise InputError(
                    f"covariate {col!r} has {int(values.isna().sum())} missing value(s); "
                    "impute it before harmonising or leave it out of covariates"
                )
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
                values
            )
            if fit and not numeric:
                self.covariate_levels_[col] = sorted(values.astype(str).unique())
            if col in getattr(self, "covariate_levels_", {}):
                levels = self.covariate_levels_[col]
                text = values.astype(str)
                unseen = sorted(set(text) - set(levels))
                if unseen:
                    raise InputError(
                        f"covariate {col!r} has level(s) {', '.join(unseen[:5])} not seen in "
                        f"the training rows ({', '.join(levels[:5])})"
                    )
                for level in levels[1:]:
                    blocks.append((text == level).to_numpy(dtype=np.float64)[:, None])
            else:
                blocks.append(values.to_numpy(dtype=np.float64)[:, None])
        if not blocks:
            return np.zeros((len(X), 0))
        return np.hstack(blocks)

    def _feature_columns(self, X: pd.DataFrame) -> list[str]:
        reserved = {self.batch, *self.covariates}
        if isinstance(self.features, str):
            cols = [
                c for c in X.columns if c not in reserved and column_block(str(c)) != "clinical"
            ]
            if not cols:
                raise InputError(
                    "no feature columns to harmonise (features='auto' looks for "
                    "<tag>.<filter>.<family>.<feature> columns); list them in features"
                )
        else:
            cols = list(self.features)
            missing = [c for c in cols if c not in X.columns]
            if missing:
                raise InputError(
                    f"feature column(s) {', '.join(map(repr, missing[:5]))} not in the table"
                )
            clash = [c for c in cols if c in reserved]
            if clash:
                raise InputError(
                    f"column(s) {', '.join(clash)} are the batch or covariates; they cannot "
                    "also be harmonised"
                )
        bad = [c for c in cols if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise InputError(f"feature column(s) {', '.join(map(repr, bad[:5]))} are not numeric")
        return cols

    # ------------------------------------------------------------------ fit

    def fit(self, X: pd.DataFrame, y: Any = None) -> ComBatHarmoniser:
        """Learn the ComBat estimates from the training rows ``X``.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Training rows: the batch column, the covariates and the feature columns.
        y : ignored
            Present for the pipeline API; ComBat never sees the outcome.

        Returns
        -------
        self

        Raises
        ------
        InputError
            Not a DataFrame, a declared column missing, fewer than two centres, a centre
            with fewer than two rows, a non-numeric feature, an infinite feature or
            covariate value, a missing covariate value.
        """
        self._check_params()
        X = self._frame(X, where="fit")
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        cols = self._feature_columns(X)
        batch = X[self.batch].astype(str).to_numpy()
        levels, counts = np.unique(batch, return_counts=True)
        if len(levels) < 2:
            raise InputError(
                f"ComBat needs at least two centres in the training rows; found only "
                f"{self._name(levels[0])!r} in {self._label()!r}"
            )
        small = [f"{self._name(b)} ({n})" for b, n in zip(levels, counts, strict=True) if n < 2]
        if small:
            raise InputError(
                f"batch(es) {', '.join(small)} of {self._label()!r} have fewer than two "
                "training rows; ComBat cannot estimate their scale (merge small batches, or use "
                "fewer folds)"
            )
        self._check_finite(X, cols, what="feature")
        self._check_finite(X, self.covariates, what="covariate")
        C = self._covariate_matrix(X, fit=True)
        Y = X[cols].to_numpy(dtype=np.float64)
        n, n_b = len(Y), len(levels)
        onehot = (batch[:, None] == levels[None, :]).astype(np.float64)
        design = np.hstack([onehot, C])
        n_feat = Y.shape[1]
        coef = np.full((design.shape[1], n_feat), np.nan)
        var_pooled = np.full(n_feat, np.nan)
        grand = np.full(n_feat, np.nan)
        observed = ~np.isnan(Y)
        complete = observed.all(axis=0)
        groups: list[tuple[np.ndarray, np.ndarray]] = []
        if complete.any():
            groups.append((np.flatnonzero(complete), np.ones(n, dtype=bool)))
        groups += [(np.array([j]), observed[:, j]) for j in np.flatnonzero(~complete)]
        rank_full = np.linalg.matrix_rank(design)
        if rank_full < design.shape[1]:
            raise InputError(
                "the covariates are collinear with the centres (a covariate constant within "
                "every centre, or two equal covariates); leave the redundant one out"
            )
        for idx, rows in groups:
            D, Yg = design[rows], Y[np.ix_(rows, idx)]
            if rows.sum() < design.shape[1] or np.linalg.matrix_rank(D) < D.shape[1]:
                continue  # too few observed rows for this feature: left unchanged below
            beta, *_ = np.linalg.lstsq(D, Yg, rcond=None)
            coef[:, idx] = beta
            nb = D[:, :n_b].sum(axis=0)
            grand[idx] = (nb / rows.sum()) @ beta[:n_b]
            var_pooled[idx] = np.mean((Yg - D @ beta) ** 2, axis=0)
        # standardised data (NaN where missing)
        stand = grand[None, :] + C @ coef[n_b:] if C.shape[1] else np.broadcast_to(grand, Y.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            Z = (Y - stand) / np.sqrt(var_pooled)[None, :]
        gamma_hat = np.full((n_b, n_feat), np.nan)
        delta_hat = np.full((n_b, n_feat), np.nan)
        n_obs = np.zeros((n_b, n_feat))
        varies = np.ones(n_feat, dtype=bool)  # within every batch, on the stored values
        for k, level in enumerate(levels):
            zb = Z[batch == level]
            n_obs[k] = np.sum(~np.isnan(zb), axis=0)
            with np.errstate(invalid="ignore"), _quiet():
                gamma_hat[k] = np.nanmean(zb, axis=0)
                delta_hat[k] = np.nanvar(zb, axis=0, ddof=1)
                yb = Y[batch == level]
                varies &= np.nanmax(yb, axis=0) > np.nanmin(yb, axis=0)
        usable = (
            np.isfinite(var_pooled)
            & (var_pooled > 0)
            & varies  # a batch of one value: its variance is 0, or rounding's 1e-33
            & np.all(np.isfinite(delta_hat) & (delta_hat > 0), axis=0)
            & np.all(n_obs >= 2, axis=0)
        )
        self.passthrough_features_ = [c for c, u in zip(cols, usable, strict=True) if not u]
        if self.passthrough_features_:
            log.info(
                "ComBat leaves %d feature(s) unchanged (constant overall or within a centre, or "
                "fewer than two values in a centre): %s",
                len(self.passthrough_features_),
                ", ".join(self.passthrough_features_[:5]),
            )
        gamma_star = gamma_hat.copy()
        delta_star = delta_hat.copy()
        converged = True
        if self.empirical_bayes and usable.sum() >= 2:
            for k, level in enumerate(levels):
                zb = Z[batch == level][:, usable]
                g, d, ok = _eb_batch(
                    zb,
                    gamma_hat[k, usable],
                    delta_hat[k, usable],
                    n_obs[k, usable],
                    max_iter=self.max_iter,
                    tol=self.tol,
                )
                gamma_star[k, usable], delta_star[k, usable] = g, d
                converged &= ok
            if not converged:
                log.warning(
                    "ComBat empirical-Bayes estimates did not converge in %d iterations",
                    self.max_iter,
                )
        self.batches_ = levels.astype(object)
        self.features_ = cols
        self._usable = usable
        self.grand_mean_ = grand
        self.beta_ = coef[n_b:]
        self.var_pooled_ = var_pooled
        self.gamma_hat_, self.delta_hat_ = gamma_hat, delta_hat
        self.gamma_star_, self.delta_star_ = gamma_star, delta_star
        self.converged_ = bool(converged)
        return self

    # ------------------------------------------------------------------ transform

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Harmonise rows with the training estimates (nothing is re-estimated).

        Parameters
        ----------
        X : DataFrame
            Rows to harmonise, with the training columns (batch, covariates, features).

        Returns
        -------
        DataFrame
            ``X`` with the feature columns harmonised (batch column dropped when
            ``drop_batch``); same index.

        Raises
        ------
        InputError
            A centre or covariate level absent from the training rows (with
            ``unseen_batch="error"``), an infinite feature or covariate value, or missing
            columns.
        """
        check_is_fitted(self, "gamma_star_")
        X = self._frame(X, where="transform")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise InputError(
                f"column(s) {', '.join(map(repr, missing[:5]))} seen in fit are missing"
            )
        X = X[list(self.feature_names_in_)]
        batch = X[self.batch].astype(str).to_numpy()
        known = set(self.batches_)
        unseen = sorted(set(batch) - known)
        if unseen and self.unseen_batch == "error":
            raise InputError(
                f"batch(es) {', '.join(repr(self._name(b)) for b in unseen[:5])} of "
                f"{self._label()!r} were not in the training rows "
                f"({', '.join(self._name(b) for b in self.batches_[:5])}); ComBat has no "
                "estimate for them: harmonise by a column whose every value the training "
                "patients hold (in the Python API, ComBatHarmoniser(unseen_batch="
                "'passthrough') leaves such rows unchanged)"
            )
        if unseen:
            log.warning(
                "ComBat leaves the rows of unseen batch(es) %s unchanged",
                ", ".join(self._name(b) for b in unseen)
            )
        self._check_finite(X, self.features_, what="feature")
        self._check_finite(X, self.covariates, what="covariate")
        C = self._covariate_matrix(X, fit=False)
        u = self._usable
        cols = [c for c, ok in zip(self.features_, u, strict=True) if ok]
        Y = X[cols].to_numpy(dtype=np.float64)
        stand = np.broadcast_to(self.grand_mean_[u], Y.shape) + (
            C @ self.beta_[:, u] if C.shape[1] else 0.0
        )
        sd = np.sqrt(self.var_pooled_[u])[None, :]
        Z = (Y - stand) / sd
        out = Y.copy()
        for k, level in enumerate(self.batches_):
            rows = batch == level
            if rows.any():
                zb = (Z[rows] - self.gamma_star_[k, u]) / np.sqrt(self.delta_star_[k, u])
                out[rows] = zb * sd + stand[rows]
        result = X.copy()
        result[cols] = out
        if self.drop_batch:
            result = result.drop(columns=[self.batch])
        return result

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names (the input columns, less the batch column if dropped)."""
        check_is_fitted(self, "gamma_star_")
        names = [c for c in self.feature_names_in_ if not (self.drop_batch and c == self.batch)]
        return np.asarray(names, dtype=object)


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings inside a block."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
