"""IBSI feature families. Importing this package registers every family by name."""

import sys
from types import ModuleType

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


class _RegistryModule(ModuleType):
    """This package, callable: ``radiomix.features()`` is the registry as a DataFrame
    (:func:`radiomix.api.features`); the package and that function share the name."""

    def __call__(self) -> "pandas.DataFrame":  # type: ignore[name-defined]  # noqa: F821
        from radiomix.api import features

        return features()


sys.modules[__name__].__class__ = _RegistryModule
