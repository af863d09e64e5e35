"""IBSI feature families. Importing this package registers every family by name."""

from radiomix.features import (  # noqa: F401  (imported to register the families)
    glcm,
    gldzm,
    glrlm,
    glszm,
    intensity_histogram,
    ivh,
    local_intensity,
    morphology,
    ngldm,
    ngtdm,
    statistics,
)
from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, all_features, get_feature

__all__ = ["Aggregation", "FeatureSpec", "all_features", "get_feature"]
