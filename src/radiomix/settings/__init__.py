"""Processing and extraction settings: frozen dataclasses, one per IBSI processing step.

The same loader (:func:`settings_from_dict`) reads ``--config`` files, the packaged
presets (``ibsi-digital``, ``ibsi-A`` … ``ibsi-E``) and the per-tag settings of a study
file; unknown keys are refused with the nearest valid key as suggestion.
"""

from radiomix.settings.filters import FilterSettings
from radiomix.settings.loader import (
    PRESETS,
    load_preset,
    load_settings_file,
    settings_from_dict,
    settings_hash,
    settings_to_dict,
)
from radiomix.settings.steps import (
    CropSettings,
    DiscretisationSettings,
    ExtractionSettings,
    FeatureSettings,
    InterpolationSettings,
    IvhSettings,
    MaskInterpolationSettings,
    PreprocessSettings,
    ResegmentationSettings,
    ResponseMapSettings,
)

__all__ = [
    "PRESETS",
    "CropSettings",
    "DiscretisationSettings",
    "ExtractionSettings",
    "FeatureSettings",
    "FilterSettings",
    "InterpolationSettings",
    "IvhSettings",
    "MaskInterpolationSettings",
    "PreprocessSettings",
    "ResegmentationSettings",
    "ResponseMapSettings",
    "load_preset",
    "load_settings_file",
    "settings_from_dict",
    "settings_hash",
    "settings_to_dict",
]
