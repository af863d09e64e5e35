"""The "deep features alone" arm: a linear classification head on frozen CNN embeddings.

:class:`DeepLinearHead` is a scikit-learn classifier, so the evaluation layer
(:func:`radiomix.evaluate.nested_cv`, :func:`radiomix.evaluate.holdout_validation`) fits a
fresh clone of it on the training patients of every fold, exactly as it does for the
radiomic pipelines. torch is imported only inside :meth:`DeepLinearHead.fit`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from radiomix.deep.embed import _torch_threads
from radiomix.errors import InputError
from radiomix.model.columns import select_columns
from radiomix.types import FloatArray

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and bool(np.isfinite(value))
    )


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class DeepLinearHead(ClassifierMixin, BaseEstimator):
    """Linear softmax (sigmoid) head trained on frozen deep embeddings: the deep-only arm.

    A single ``torch.nn.Linear`` layer on z-scored embeddings, trained full-batch by
    L-BFGS to the minimum of the L2-penalised cross-entropy (see Notes). It is the
    "ResNet18 alone" arm of a deep-feature study: the network stays frozen
    (:mod:`radiomix.deep.embed` computed its embeddings), only this head is learned.

    **Training patients only.** The head learns from nothing but the rows passed to
    :meth:`fit`: the standardisation (mean, standard deviation) and the weights come from
    those rows alone. Inside :func:`radiomix.evaluate.nested_cv` or
    :func:`radiomix.evaluate.holdout_validation`, which *require* ``groups`` (patient ids)
    and split by patient, every fold therefore fits it on training-fold patients only; the
    slice rows of one patient are never on both sides of a split (the slice-level leakage
    that inflated the lung study's accuracy cannot happen).

    Parameters
    ----------
    alpha : float >= 0
        L2 weight decay of the weights (the bias is not penalised), per the mean loss; see
        Notes. Tune it in the inner loop (``param_grid={"alpha": [1e-3, 1e-2, 1e-1]}``).
    columns : str, sequence of str or None
        Which columns of a DataFrame ``X`` to use: a block name (default ``"deep"``: every
        column whose filter field is ``deep``, ``<tag>.deep.<model>_<mode>.fNNN``), a column
        name or a shell wildcard (``"ct.deep.resnet18_2p5d.*"``), as in
        :func:`radiomix.model.select_columns`. Other columns (clinical, radiomic, ids) are
        ignored. ``None`` = all columns. Arrays always use all their columns.
    max_iter : int >= 1
        Maximum number of L-BFGS iterations.
    tol : float > 0
        Convergence when the largest absolute gradient entry is at most ``tol``; otherwise a
        :class:`~sklearn.exceptions.ConvergenceWarning`.
    random_state : int, RandomState or None
        Seed of the torch generator that draws the initial weights (N(0, 0.01^2)).
    num_threads : int >= 1
        torch threads during :meth:`fit` (the previous setting is restored afterwards).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Number of columns of the ``X`` passed to :meth:`fit` (all of them, used or not).
    feature_names_in_ : ndarray of str
        Column names of ``X`` when it is a DataFrame with string column names.
    column_index_ : ndarray of int
        Positions in ``X`` of the columns the head uses.
    selected_columns_ : ndarray of str or None
        Their names (``None`` for an array ``X``).
    mean_, scale_ : ndarray of shape (n_used,)
        Training mean and (population) standard deviation; 1 for constant columns.
    coef_ : ndarray of shape (1, n_used) for two classes, else (n_classes, n_used)
        Weights on the z-scored inputs.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        L-BFGS iterations run.

    Raises
    ------
    InputError
        A parameter out of range, fewer than 2 classes, or no column matching ``columns``.

    Notes
    -----
    With :math:`z_i` the z-scored embedding of row :math:`i` (training mean and standard
    deviation), the head minimises

    .. math:: L(W, b) = \\frac{1}{n}\\sum_{i=1}^{n} \\ell(W z_i + b, y_i)
              + \\frac{\\alpha}{2} \\lVert W \\rVert_F^2,

    with :math:`\\ell` the softmax cross-entropy over :math:`K` classes (:math:`W` of
    shape :math:`K \\times p`) or, for two classes, the logistic loss of a single logit.
    This is L2-penalised (multinomial) logistic regression: scikit-learn's
    ``LogisticRegression(C=1 / (n * alpha))`` on the same z-scored inputs has the same
    minimiser, which the tests use as an independent oracle. The problem is convex, so
    the solution does not depend on the seed beyond the solver tolerance; computations are
    in float64 with a fixed number of threads, so two fits with the same seed give
    bit-identical weights. Prediction uses the stored weights in numpy (no torch).

    Why a linear head on frozen features, and not fine-tuning: the embeddings in the
    feature table are computed once per lesion, before any split. Updating the network
    (even its last residual stage) would need the image crops inside every training fold
    and a re-embedding of the test patients by the fold's network; that path (an
    image-input estimator) is left for later. With the usual radiomics cohort sizes (tens
    to a few hundred patients) a regularised linear probe on frozen ImageNet features is
    also the standard, low-variance transfer baseline (Razavian et al. 2014; Kornblith et
    al. 2019).

    References
    ----------
    He K, Zhang X, Ren S, Sun J. Deep residual learning for image recognition. CVPR 2016,
    770-778. doi:10.1109/CVPR.2016.90

    Razavian AS, Azizpour H, Sullivan J, Carlsson S. CNN features off-the-shelf: an
    astounding baseline for recognition. CVPR Workshops 2014, 512-519.
    doi:10.1109/CVPRW.2014.131

    Kornblith S, Shlens J, Le QV. Do better ImageNet models transfer better? CVPR 2019,
    2661-2671. doi:10.1109/CVPR.2019.00277

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(40, 4)),
    ...                  columns=[f"ct.deep.resnet18_2p5d.f{j:03d}" for j in range(4)])
    >>> X["age"] = rng.integers(40, 80, size=40)
    >>> y = (X["ct.deep.resnet18_2p5d.f000"] > 0).astype(int)
    >>> head = DeepLinearHead().fit(X, y)
    >>> head.selected_columns_.size, float(head.score(X, y))
    (4, 1.0)
    """

    def __init__(
        self,
        *,
        alpha: float = 1e-2,
        columns: str | Sequence[str] | None = "deep",
        max_iter: int = 200,
        tol: float = 1e-6,
        random_state: Any = 0,
        num_threads: int = 1,
    ) -> None:
        self.alpha = alpha
        self.columns = columns
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.num_threads = num_threads

    # -- parameters and inputs ---------------------------------------------------------

    def _check_params(self) -> None:
        if not (_is_number(self.alpha) and self.alpha >= 0):
            raise InputError(f"alpha must be a finite number >= 0; got {self.alpha!r}")
        if not (_is_int(self.max_iter) and self.max_iter >= 1):
            raise InputError(f"max_iter must be an int >= 1; got {self.max_iter!r}")
        if not (_is_number(self.tol) and self.tol > 0):
            raise InputError(f"tol must be a finite number > 0; got {self.tol!r}")
        if not (_is_int(self.num_threads) and self.num_threads >= 1):
            raise InputError(f"num_threads must be an int >= 1; got {self.num_threads!r}")
        cols = self.columns
        ok = (
            cols is None
            or isinstance(cols, str)
            or (
                isinstance(cols, (list, tuple))
                and len(cols) > 0
                and all(isinstance(c, str) for c in cols)
            )
        )
        if not ok:
            raise InputError(
                "columns must be None, a column pattern or block name (e.g. 'deep') or a "
                f"non-empty list of them; got {cols!r}"
            )

    def _inputs(self, X: Any, *, reset: bool) -> FloatArray:
        """Validated float64 matrix of the columns the head uses."""
        is_frame = hasattr(X, "columns") and hasattr(X, "iloc")
        if is_frame and self.columns is not None:
            validate_data(self, X, skip_check_array=True, reset=reset)
            if reset:
                names = [str(c) for c in X.columns]
                patterns = [self.columns] if isinstance(self.columns, str) else self.columns
                chosen = select_columns(names, patterns)
                position = {n: i for i, n in enumerate(names)}
                self.column_index_ = np.array([position[c] for c in chosen], dtype=np.intp)
                self.selected_columns_: np.ndarray | None = np.asarray(chosen, dtype=object)
                log.debug("DeepLinearHead uses %d of %d columns", len(chosen), len(names))
            return check_array(
                X.iloc[:, self.column_index_], dtype=np.float64, order="C", estimator=self
            )
        arr = validate_data(self, X, dtype=np.float64, order="C", reset=reset)
        if reset:
            self.column_index_ = np.arange(arr.shape[1], dtype=np.intp)
            names_in = getattr(self, "feature_names_in_", None)
            self.selected_columns_ = None if names_in is None else np.asarray(names_in)
            return arr
        return np.ascontiguousarray(arr[:, self.column_index_])

    # -- fitting ---------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> DeepLinearHead:
        """Standardise ``X`` on these rows and fit the linear head by L-BFGS.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_columns)
            Embedding table (only the ``columns`` selection is used) or matrix.
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        DeepLinearHead
            ``self``, fitted.

        Raises
        ------
        InputError
            Bad parameter, fewer than 2 classes, no column matching ``columns``.
        """
        self._check_params()
        Xu = self._inputs(X, reset=True)
        y = check_array(column_or_1d(y, warn=True), ensure_2d=False, dtype=None, input_name="y")
        if y.shape[0] != Xu.shape[0]:
            raise InputError(f"X has {Xu.shape[0]} rows but y has {y.shape[0]}")
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise InputError(
                f"DeepLinearHead needs at least 2 classes; y has {classes.size} class "
                f"({classes.tolist()}). Check the outcome column or the fold composition."
            )
        self.classes_ = classes
        self.mean_ = Xu.mean(axis=0)
        sd = Xu.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = (Xu - self.mean_) / self.scale_
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        with _torch_threads(self.num_threads):
            coef, intercept, n_iter, grad_max = self._lbfgs(Z, y_idx, classes.size, seed)
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = n_iter
        if not grad_max <= self.tol:
            warnings.warn(
                f"DeepLinearHead: L-BFGS stopped after {n_iter} iteration(s) with largest "
                f"gradient {grad_max:.3g} > tol={self.tol:g}; raise max_iter or alpha",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _lbfgs(
        self, Z: FloatArray, y_idx: np.ndarray, n_classes: int, seed: int
    ) -> tuple[FloatArray, FloatArray, int, float]:
        import torch
        from torch import nn

        n_out = 1 if n_classes == 2 else n_classes
        gen = torch.Generator().manual_seed(seed)
        head = nn.Linear(Z.shape[1], n_out, dtype=torch.float64)
        with torch.no_grad():
            head.weight.copy_(
                0.01 * torch.randn(head.weight.shape, generator=gen, dtype=torch.float64)
            )
            head.bias.zero_()
        z = torch.from_numpy(np.ascontiguousarray(Z))
        if n_out == 1:
            target = torch.from_numpy(y_idx.astype(np.float64))

            def data_loss(logits: torch.Tensor) -> torch.Tensor:
                return nn.functional.binary_cross_entropy_with_logits(logits[:, 0], target)
        else:
            target_cls = torch.from_numpy(y_idx.astype(np.int64))

            def data_loss(logits: torch.Tensor) -> torch.Tensor:
                return nn.functional.cross_entropy(logits, target_cls)

        alpha = float(self.alpha)
        opt = torch.optim.LBFGS(
            head.parameters(),
            lr=1.0,
            max_iter=int(self.max_iter),
            max_eval=int(self.max_iter) * 2,
            tolerance_grad=float(self.tol),
            tolerance_change=1e-14,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = data_loss(head(z)) + 0.5 * alpha * head.weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        closure()  # gradient at the final point
        grad_max = max(float(p.grad.abs().max()) for p in head.parameters() if p.grad is not None)
        n_iter = int(opt.state[head.weight].get("n_iter", 0))
        coef = head.weight.detach().numpy().copy()
        intercept = head.bias.detach().numpy().copy()
        return coef, intercept, n_iter, grad_max

    # -- prediction -------------------------------------------------------------------

    def decision_function(self, X: Any) -> FloatArray:
        """Logits: shape (n_samples,) for two classes (of ``classes_[1]``), else (n, K)."""
        check_is_fitted(self, "coef_")
        Z = (self._inputs(X, reset=False) - self.mean_) / self.scale_
        scores = Z @ self.coef_.T + self.intercept_
        return scores[:, 0] if self.coef_.shape[0] == 1 else scores

    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities in the order of ``classes_``, shape (n_samples, n_classes)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p1 = expit(scores)
            return np.column_stack([1.0 - p1, p1])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X: Any) -> FloatArray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class (for two classes: logit > 0)."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]
