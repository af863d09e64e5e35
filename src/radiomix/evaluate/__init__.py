"""Leakage-free evaluation: patient-grouped splits, metrics with patient-bootstrap CIs.

Every evaluation takes ``groups`` (patient ids) and refuses to run without it.
"""

from radiomix.evaluate.bootstrap import (
    bootstrap_binary_metrics,
    bootstrap_multiclass_metrics,
    patient_bootstrap_weights,
)
from radiomix.evaluate.metrics import (
    BINARY_METRICS,
    binary_metrics,
    decision_curve,
    delong_test,
    multiclass_metrics,
)
from radiomix.evaluate.splits import (
    MissingGroupsError,
    centre_split,
    check_groups,
    grouped_cv_splits,
    patient_holdout_split,
)
from radiomix.evaluate.validate import (
    EvaluationResult,
    external_validation,
    fit_tuned,
    holdout_validation,
    nested_cv,
    permutation_test,
)

__all__ = [
    "BINARY_METRICS",
    "EvaluationResult",
    "MissingGroupsError",
    "binary_metrics",
    "bootstrap_binary_metrics",
    "bootstrap_multiclass_metrics",
    "centre_split",
    "check_groups",
    "decision_curve",
    "delong_test",
    "external_validation",
    "fit_tuned",
    "grouped_cv_splits",
    "holdout_validation",
    "multiclass_metrics",
    "nested_cv",
    "patient_bootstrap_weights",
    "patient_holdout_split",
    "permutation_test",
]
