"""Modelling layer: sklearn-compatible fusion, selection, classifiers, rad-score, nomogram,
survival models. Works on any feature table (columns ``<tag>.<filter>.<family>.<feature>``)
joined with clinical covariates.
"""

from radiomix.model.classifiers import (
    CALIBRATIONS,
    MODELS,
    SELECTORS,
    ClippedKNeighborsClassifier,
    GroupedStackingClassifier,
    PenalisedLogisticCV,
    PostHocCalibrated,
    build_pipeline,
    default_model_name,
    default_param_grid,
    make_classifier,
    make_selector,
)
from radiomix.model.clinical import encode_clinical, parse_ordinal
from radiomix.model.columns import FeatureName, column_block, select_columns, split_blocks
from radiomix.model.fuse import BlockFuser
from radiomix.model.radscore import RadScore
from radiomix.model.search import AutoClassifier, Candidate, SearchProgress, search_space
from radiomix.model.select import (
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedSelector,
    TableHygiene,
    UnivariateFdrSelector,
    UnivariateKBest,
    VarianceSelector,
)

__all__ = [
    "CALIBRATIONS",
    "MODELS",
    "SELECTORS",
    "AutoClassifier",
    "BlockFuser",
    "Candidate",
    "ClippedKNeighborsClassifier",
    "CorrelationClusterSelector",
    "FeatureName",
    "GroupedStackingClassifier",
    "MrmrSelector",
    "PenalisedLogisticCV",
    "PenalisedSelector",
    "PostHocCalibrated",
    "RadScore",
    "SearchProgress",
    "TableHygiene",
    "UnivariateFdrSelector",
    "UnivariateKBest",
    "VarianceSelector",
    "build_pipeline",
    "column_block",
    "default_model_name",
    "default_param_grid",
    "encode_clinical",
    "make_classifier",
    "make_selector",
    "parse_ordinal",
    "search_space",
    "select_columns",
    "split_blocks",
]
