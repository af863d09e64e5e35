"""Patient-grouped splits: nothing of one patient on both sides of a split.

Every public evaluation of radiomix takes ``groups`` (one patient identifier per row) and
refuses to run without it (:class:`MissingGroupsError`): slices, lesions or time points of
one patient are never divided between training and test rows. The row-level split that
inflates results (98.6 % accuracy on CT slices in the lung study) exists only inside
:func:`radiomix.evaluate.audit.leakage_audit`, labelled as leaky.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from radiomix.errors import InputError, InternalError, MissingGroupsError

GROUPS_HELP = (
    "pass groups= one patient identifier per row (e.g. table['patient_id']); radiomix "
    "evaluates only with patient-grouped splits, because rows of one patient (slices, "
    "lesions, time points) on both sides of a split inflate every metric"
)


def check_groups(groups: Any, n_rows: int) -> np.ndarray:
    """Validate patient identifiers, one per row.

    Parameters
    ----------
    groups : array-like of shape (n_rows,)
        Patient identifier of each row.
    n_rows : int
        Number of rows of the data they describe.

    Returns
    -------
    ndarray of str
        The identifiers as strings.

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    InputError
        Wrong length, or missing identifiers.

    Examples
    --------
    >>> check_groups(["P1", "P1", "P2"], 3).tolist()
    ['P1', 'P1', 'P2']
    """
    if groups is None:
        raise MissingGroupsError(f"groups is missing: {GROUPS_HELP}")
    g = pd.Series(np.asarray(groups).ravel() if not isinstance(groups, pd.Series) else groups)
    if len(g) != n_rows:
        raise InputError(f"groups has {len(g)} entries for {n_rows} rows; give one per row")
    if g.isna().any():
        raise InputError(
            f"groups holds {int(g.isna().sum())} missing patient identifier(s); every row "
            "needs its patient"
        )
    return g.astype(str).to_numpy()


def patient_labels(y: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One label per patient (the most frequent label of its rows) for stratification.

    Returns
    -------
    patients : ndarray of str
        Sorted unique patients.
    labels : ndarray
        Their labels.
    """
    frame = pd.DataFrame({"g": groups, "y": y})
    lab = frame.groupby("g", sort=True)["y"].agg(lambda s: s.value_counts().index[0])
    return lab.index.to_numpy(), lab.to_numpy()


@dataclass(frozen=True, slots=True)
class Split:
    """One train/test split: indices into the rows, with its repeat and fold number."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


def assert_disjoint(groups: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    """Raise :class:`InternalError` when a patient is on both sides of a split."""
    shared = np.intersect1d(groups[train], groups[test])
    if shared.size:
        raise InternalError(f"patients on both sides of a grouped split: {shared[:5].tolist()}")


def check_stratified_folds(n_splits: int, y: Any, groups: np.ndarray, *, where: str) -> None:
    """Refuse more stratified folds than every class has patients.

    ``StratifiedGroupKFold`` cannot split when each class holds fewer members than folds
    (scikit-learn raises a ``ValueError``, a traceback to the user); with 4 patients of
    each class, 5 folds cannot be made, whatever the total. ``where`` names the rows in the
    message (e.g. "the inner folds of the training rows").

    Raises
    ------
    InputError
        ``n_splits`` is more than the patients of the largest class.
    """
    _, labels = patient_labels(np.asarray(y), groups)
    counts = pd.Series(labels).value_counts()
    if len(counts) and n_splits > int(counts.max()):
        held = ", ".join(f"{int(n)} of class {k}" for k, n in counts.items())
        raise InputError(
            f"{where}: {n_splits} folds stratified by the outcome need more patients of a "
            f"class than these rows hold ({held}); use at most {int(counts.max())} folds, or "
            "more patients"
        )


def grouped_cv_splits(
    y: Any,
    *,
    groups: Any,
    n_splits: int = 5,
    n_repeats: int = 1,
    random_state: int = 0,
) -> Iterator[Split]:
    """Repeated patient-grouped, stratified K-fold splits.

    Repeat ``r`` uses ``StratifiedGroupKFold(n_splits, shuffle=True,
    random_state=random_state + r)``.

    Raises
    ------
    MissingGroupsError
        Without ``groups``.
    InputError
        Fewer patients than folds, or than folds in every class
        (:func:`check_stratified_folds`).
    """
    y = np.asarray(y)
    g = check_groups(groups, len(y))
    n_patients = np.unique(g).size
    if not (isinstance(n_splits, (int, np.integer)) and 2 <= n_splits <= n_patients):
        raise InputError(
            f"n_splits must be an int in [2, {n_patients}] (patients); got {n_splits!r}"
        )
    if not (isinstance(n_repeats, (int, np.integer)) and n_repeats >= 1):
        raise InputError(f"n_repeats must be an int >= 1; got {n_repeats!r}")
    check_stratified_folds(n_splits, y, g, where="the outer folds")
    for r in range(n_repeats):
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state + r)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y, g)):
            assert_disjoint(g, tr, te)
            yield Split(r, k, tr, te)


def patient_holdout_split(
    y: Any, *, groups: Any, test_size: float = 0.3, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded patient-level hold-out split, stratified by patient label.

    Patients (not rows) are divided ``1 - test_size`` / ``test_size`` with
    ``train_test_split(stratify=patient label)``; every row follows its patient.

    Returns
    -------
    train, test : ndarray of int
        Row indices.

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    >>> g = ["a", "a", "b", "b", "c", "d", "e", "f", "g", "h"]
    >>> tr, te = patient_holdout_split(y, groups=g, test_size=0.3, random_state=0)
    >>> set(np.asarray(g)[tr]).isdisjoint(np.asarray(g)[te])
    True
    """
    y = np.asarray(y)
    g = check_groups(groups, len(y))
    if not (0 < test_size < 1):
        raise InputError(f"test_size must be in (0, 1); got {test_size!r}")
    patients, labels = patient_labels(y, g)
    counts = pd.Series(labels).value_counts()
    stratify = labels if counts.min() >= 2 else None
    p_train, p_test = train_test_split(
        patients, test_size=test_size, random_state=random_state, stratify=stratify
    )
    train = np.flatnonzero(np.isin(g, p_train))
    test = np.flatnonzero(np.isin(g, p_test))
    assert_disjoint(g, train, test)
    return train, test


def centre_split(
    centre: Any, *, groups: Any, test_centres: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """External validation split: train on some centres, test on ``test_centres``.

    Raises
    ------
    InputError
        Unknown test centre, no training centre left, or a patient listed in two centres.
    """
    c = pd.Series(np.asarray(centre).ravel()).astype(str).to_numpy()
    g = check_groups(groups, len(c))
    known = sorted(set(c))
    unknown = [t for t in test_centres if str(t) not in known]
    if unknown or not test_centres:
        raise InputError(f"test centres {list(test_centres)} must be among the centres {known}")
    per_patient = pd.DataFrame({"g": g, "c": c}).groupby("g")["c"].nunique()
    multi = per_patient[per_patient > 1].index.tolist()
    if multi:
        raise InputError(f"patients found in more than one centre: {multi[:5]}")
    is_test = np.isin(c, [str(t) for t in test_centres])
    if is_test.all():
        raise InputError("no training centre left; keep at least one centre for training")
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    assert_disjoint(g, train, test)
    return train, test
