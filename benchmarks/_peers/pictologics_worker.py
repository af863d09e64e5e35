"""pictologics worker for ``bench_ibsi.py`` (runs in the pictologics venv; see ``_protocol``).

Timed call: ``RadiomicsPipeline.run(image_path, mask_path, config_names=[...])``: loading,
preprocessing and every feature family of the configuration.

The configuration follows pictologics' own IBSI configuration C recipe (its
``docs/ibsi1_compliance.md``) mapped from the benchmark's processing: binarise the mask at
0.5, resample to 2 mm (image trilinear with intensities rounded; mask trilinear, threshold
0.5), re-segment [-1000, 400] HU, FBS 25 HU from -1000 HU; families intensity, morphology,
texture (GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM), histogram, IVH (FBS 2.5 HU from -1000 HU),
with Moran's I / Geary's C and local intensity. The recipe's ``keep_largest_component`` step
is left out because radiomix's configuration C does not have it (``keep_largest``: true in the
options puts it back).

Threads: pictologics reads ``NUMBA_NUM_THREADS`` (set to 1 by the driver) at import, and
``set_num_threads(1)`` is called as well. Its first import compiles its numba kernels (minutes,
once per venv); the driver's ``info`` request absorbs that, untimed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from _protocol import count_values, serve

CONFIG = "bench_ibsi_c"


def info() -> dict[str, Any]:
    """Import pictologics (JIT warm-up included) and describe its configuration."""
    os.environ.setdefault("PICTOLOGICS_NUM_THREADS", "1")
    import pictologics

    pictologics.set_num_threads(1)
    return {
        "tool": "pictologics",
        "version": str(pictologics.__version__),
        "notes": [
            "pictologics' configuration C recipe: binarise mask 0.5; resample 2 mm (image linear, "
            "rounded; mask linear, threshold 0.5); resegment [-1000, 400]; FBS 25 from -1000; "
            "all families incl. Moran/Geary and local intensity; IVH FBS 2.5 from -1000 "
            "(recipe's keep_largest_component left out)",
        ],
    }


def _steps(processing: dict[str, Any], options: dict[str, Any]) -> list[dict[str, Any]]:
    lo, hi = (float(v) for v in processing["resegment"])
    steps: list[dict[str, Any]] = [
        {"step": "binarize_mask", "params": {"threshold": 0.5}},
        {
            "step": "resample",
            "params": {
                "new_spacing": tuple(float(v) for v in processing["spacing_mm"]),
                "interpolation": processing.get("interpolation", "linear"),
                "mask_interpolation": "linear",
                "mask_threshold": 0.5,
                "round_intensities": True,
            },
        },
    ]
    if options.get("keep_largest"):
        steps.append({"step": "keep_largest_component", "params": {"apply_to": "morph"}})
    steps += [
        {"step": "resegment", "params": {"range_min": lo, "range_max": hi}},
        {
            "step": "discretise",
            "params": {"method": "FBS", "bin_width": float(processing["bin_width"]), "min_val": lo},
        },
        {
            "step": "extract_features",
            "params": {
                "families": ["intensity", "morphology", "texture", "histogram", "ivh"],
                "include_spatial_intensity": True,
                "include_local_intensity": True,
                "ivh_discretisation": {"method": "FBS", "bin_width": 2.5, "min_val": lo},
                "ivh_params": {"target_range_max": hi},
            },
        },
    ]
    return steps


def prepare(processing: dict[str, Any], options: dict[str, Any]) -> Callable[[str, str], Any]:
    """Build the pipeline once (configuration validated); return the timed ``run`` call."""
    from pictologics import RadiomicsPipeline

    pipeline = RadiomicsPipeline(load_standard=False)
    pipeline.add_config(CONFIG, _steps(processing, options), validate=True)

    def call(image: str, mask: str) -> Any:
        return pipeline.run(image, mask, config_names=[CONFIG])

    return call


def summarise(result: Any) -> tuple[int, int, dict[str, Any]]:
    """Count the values of the configuration's feature Series."""
    series = result[CONFIG]
    n, bad = count_values(series.tolist())
    return n, bad, {}


if __name__ == "__main__":
    serve(info, prepare, summarise)
