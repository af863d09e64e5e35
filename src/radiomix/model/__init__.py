"""Modelling layer: sklearn-compatible fusion, selection, classifiers, rad-score, nomogram,
survival models. Works on any feature table (columns ``<tag>.<filter>.<family>.<feature>``)
joined with clinical covariates.
"""

from radiomix.model.classifiers import (
    MODELS,
    SELECTORS,
    GroupedStackingClassifier,
    build_pipeline,
    default_param_grid,
    make_classifier,
    make_selector,
)
from radiomix.model.clinical import encode_clinical, parse_ordinal
from radiomix.model.columns import FeatureName, column_block, select_columns, split_blocks
from radiomix.model.fuse import BlockFuser
from radiomix.model.radscore import RadScore
from radiomix.model.select import (
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedSelector,
    UnivariateFdrSelector,
    VarianceSelector,
)

__all__ = [
    "MODELS",
    "SELECTORS",
    "BlockFuser",
    "CorrelationClusterSelector",
    "FeatureName",
    "GroupedStackingClassifier",
    "MrmrSelector",
    "PenalisedSelector",
    "RadScore",
    "UnivariateFdrSelector",
    "VarianceSelector",
    "build_pipeline",
    "column_block",
    "default_param_grid",
    "encode_clinical",
    "make_classifier",
    "make_selector",
    "parse_ordinal",
    "select_columns",
    "split_blocks",
]
