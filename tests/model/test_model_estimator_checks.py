"""scikit-learn's estimator contract checks over every radiomix estimator.

Expected failures (listed in ``EXPECTED_FAILURES`` with the reason) are marked xfail by
``parametrize_with_checks``; every other check must pass.
"""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from radiomix.model import (
    AutoClassifier,
    BlockFuser,
    ClippedKNeighborsClassifier,
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedLogisticCV,
    PenalisedSelector,
    PostHocCalibrated,
    RadScore,
    TableHygiene,
    UnivariateFdrSelector,
    UnivariateKBest,
    VarianceSelector,
    build_pipeline,
)
from radiomix.model.classifiers import GroupedStackingClassifier
from radiomix.model.nomogram import CoxNomogram, Nomogram
from radiomix.model.survival import CoxPH, LassoCox

ESTIMATORS = [
    BlockFuser(),
    BlockFuser(scale="robust", balance_blocks=True),
    VarianceSelector(),
    CorrelationClusterSelector(),
    UnivariateFdrSelector(),
    UnivariateFdrSelector(test="welch_t"),
    PenalisedSelector(random_state=0),
    PenalisedSelector(l1_ratio=0.5, random_state=0),
    MrmrSelector(n_features=2),
    RadScore(random_state=0),
    Nomogram(random_state=0),
    CoxPH(penalizer=0.1),
    LassoCox(),
    CoxNomogram(penalizer=0.1),
    build_pipeline("knn", selector="correlation"),
    GroupedStackingClassifier(
        estimators=[("logistic", LogisticRegression()), ("nb", GaussianNB())],
        cv=3,
        random_state=0,
    ),
    RadScore(C=0.01, random_state=0),  # keeps nothing on most check data: the fallback path
    TableHygiene(),
    UnivariateKBest(k=2),
    ClippedKNeighborsClassifier(n_neighbors=15),
    PenalisedLogisticCV(Cs=[0.1, 1.0], cv=3, random_state=0),
    PostHocCalibrated(LogisticRegression(), random_state=0),
    AutoClassifier(budget=2, max_rungs=1, families=("logistic",), random_state=0),
]

_PIPELINE_IN_PLACE = (
    "sklearn's own Pipeline fits the step objects held in its `steps` parameter in place "
    "(sklearn behaviour, not ours; sklearn's own common tests skip Pipeline for this reason)"
)
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "Pipeline": {
        "check_estimators_overwrite_params": _PIPELINE_IN_PLACE,
        "check_dont_overwrite_parameters": _PIPELINE_IN_PLACE,
        "check_estimators_nan_inf": (
            "by design the pipeline's first step (BlockFuser) imputes NaN inside each training "
            "fold; sklearn's Pipeline does not forward the first step's allow_nan tag, so the "
            "check expects an error that the pipeline rightly does not raise"
        ),
    },
}


def _expected(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_contract(estimator, check):
    check(estimator)
