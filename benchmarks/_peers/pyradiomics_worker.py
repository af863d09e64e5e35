"""pyradiomics worker for ``bench_ibsi.py`` (runs in the pyradiomics venv; see ``_protocol``).

Timed call: ``RadiomicsFeatureExtractor.execute(image_path, mask_path)``: loading,
resampling, re-segmentation, discretisation and every enabled feature class.

Configuration mapped from the benchmark's processing: ``resampledPixelSpacing`` (image
``sitkLinear``; pyradiomics always resamples the mask with nearest neighbour),
``resegmentRange``, ``binWidth``; feature classes firstorder, shape (3D), glcm, glrlm, glszm,
gldm, ngtdm with all their features (shape2D needs ``force2D`` and is left out). Everything else
stays at pyradiomics' defaults, including ``additionalInfo`` (diagnostic columns, which are not
counted as features).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from _protocol import count_values, serve

CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")


def info() -> dict[str, Any]:
    """Import pyradiomics and describe its configuration."""
    import radiomics
    from radiomics import featureextractor  # noqa: F401

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    return {
        "tool": "pyradiomics",
        "version": str(radiomics.__version__),
        "notes": [
            "resampledPixelSpacing [2,2,2], interpolator sitkLinear (mask: nearest neighbour), "
            "resegmentRange [-1000, 400], binWidth 25; classes " + ", ".join(CLASSES),
            "no local intensity, intensity histogram, IVH, GLDZM, NGLDM (IBSI) families; "
            "several features differ from IBSI definitions",
        ],
    }


def prepare(processing: dict[str, Any], options: dict[str, Any]) -> Callable[[str, str], Any]:
    """Build the extractor once; return the timed ``execute`` call."""
    from radiomics import featureextractor

    interpolator = {
        "linear": "sitkLinear",
        "nearest": "sitkNearestNeighbor",
        "cubic": "sitkBSpline",
    }
    params: dict[str, Any] = {
        "resampledPixelSpacing": [float(v) for v in processing["spacing_mm"]],
        "interpolator": interpolator[processing.get("interpolation", "linear")],
        "binWidth": float(processing["bin_width"]),
        "resegmentRange": [float(v) for v in processing["resegment"]],
        "label": int(options.get("label", 1)),
    }
    extractor = featureextractor.RadiomicsFeatureExtractor(**params)
    extractor.disableAllFeatures()
    extractor.enableFeaturesByName(**{c: [] for c in CLASSES})

    def call(image: str, mask: str) -> Any:
        return extractor.execute(image, mask)

    return call


def summarise(result: Any) -> tuple[int, int, dict[str, Any]]:
    """Count the feature entries (keys not starting with ``diagnostics_``)."""
    values = [v for k, v in result.items() if not k.startswith("diagnostics_")]
    n, bad = count_values(values)
    return n, bad, {}


if __name__ == "__main__":
    serve(info, prepare, summarise)
