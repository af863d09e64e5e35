"""radiomix worker for ``bench_ibsi.py`` (runs in the radiomix venv; protocol in ``_protocol``).

Timed call: ``radiomix.extraction.extract(image, mask, settings=...)``: loading, checks,
IBSI processing (interpolation, re-segmentation, discretisation) and every enabled feature
family, provenance (input hashes) included.

Options: ``preset`` (default ``ibsi-C``) and ``exclude_families`` (list of family short
names, e.g. ``["morph"]``, to locate the cost of one family).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from _protocol import count_values, serve


def info() -> dict[str, Any]:
    """Import radiomix (and its numba kernels) and describe the configuration."""
    import radiomix
    import radiomix.extraction  # imports the feature modules and their kernels

    return {
        "tool": "radiomix",
        "version": getattr(radiomix, "__version__", "unknown"),
        "notes": [
            "settings: preset ibsi-C (3D; trilinear to 2 mm isotropic, intensities rounded; "
            "mask trilinear, partial-volume threshold 0.5; re-segmentation [-1000, 400] HU; "
            "FBS 25 HU; IVH FBS 2.5 HU); 3D aggregations; all 11 IBSI families unless the "
            "options exclude some",
            f"radiomix imported from {os.path.dirname(radiomix.__file__)}",
        ],
    }


def _check_preset(settings: Any, processing: dict[str, Any]) -> None:
    """Fail loudly if the preset no longer matches the benchmark's processing."""

    def floats(v: Any) -> list[float]:
        return [float(x) for x in (v if isinstance(v, (list, tuple)) else [v])]

    found = {
        "spacing_mm": settings.interpolation.spacing,
        "resegment": settings.resegmentation.range,
        "bin_width": settings.discretisation.bin_width,
    }
    for key, value in found.items():
        want = processing.get(key)
        if want is not None and (value is None or floats(value) != floats(want)):
            raise ValueError(f"preset {key} = {value}, the benchmark's processing asks {want}")


def prepare(processing: dict[str, Any], options: dict[str, Any]) -> Callable[[str, str], Any]:
    """Resolve the settings once; return the timed extraction call."""
    from radiomix.extraction import extract
    from radiomix.settings import load_preset

    settings = load_preset(options.get("preset", "ibsi-C"))
    _check_preset(settings, processing)
    exclude = set(options.get("exclude_families", ()))
    if exclude:
        kept = tuple(f for f in settings.features.families if f not in exclude)
        settings = dataclasses.replace(
            settings, features=dataclasses.replace(settings.features, families=kept)
        )

    def call(image: str, mask: str) -> Any:
        return extract(image, mask, settings=settings, tag="image")

    return call


def summarise(result: Any) -> tuple[int, int, dict[str, Any]]:
    """Feature count and the provenance notes (e.g. Moran's I approximation)."""
    n, bad = count_values(result.features.values())
    notes = dict(result.provenance.get("notes", {}))
    notes["roi_voxels"] = result.provenance.get("roi_voxels")
    return n, bad, notes


if __name__ == "__main__":
    serve(info, prepare, summarise)
