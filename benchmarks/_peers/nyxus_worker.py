"""nyxus worker for ``bench_ibsi.py`` (runs in the nyxus venv; see ``_protocol``).

Timed call: ``Nyxus3D(...).featurize_files([image], [mask], single_roi=False)`` on the NIfTI
files: loading and every 3D feature group (``*3D_ALL*``), one feature thread.

nyxus has no IBSI processing chain: no resampling to 2 mm, no re-segmentation, no fixed bin
size. It reads the images on their own grid and discretises texture matrices by a grey-level
count. The closest available configuration is used:

* ``bin_count`` (option, default 56 = 1400 HU / 25 HU, the number of 25 HU bins over the
  [-1000, 400] HU re-segmentation range) is set as a pyradiomics-style bin count (negative
  ``greydepth``) on the feature groups that take one (3glcm, 3gldm, 3glrlm, 3ngtdm).
* ``ibsi`` (option, default False). With ``ibsi=True`` nyxus 0.11 ignores the GLCM grey
  depth and builds the GLCM over raw HU levels (~5 s on the CT phantom); the tool
  ``nyxus-ibsi`` in ``bench_ibsi.py`` runs that variant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _protocol import count_values, serve

ID_COLUMNS = ("intensity_image", "mask_image", "ROI_label", "t_index")
GREYDEPTH_GROUPS = ("3glcm", "3gldm", "3glrlm", "3ngtdm")


def info() -> dict[str, Any]:
    """Import nyxus and describe its configuration."""
    import nyxus

    return {
        "tool": "nyxus",
        "version": str(getattr(nyxus, "__version__", "unknown")),
        "notes": [
            "no IBSI preprocessing: native voxel grid (no 2 mm resampling), no re-segmentation, "
            "grey-level count instead of FBS 25 HU",
        ],
    }


def prepare(processing: dict[str, Any], options: dict[str, Any]) -> Callable[[str, str], Any]:
    """Build the Nyxus3D object once; return the timed ``featurize_files`` call."""
    import nyxus

    ibsi = bool(options.get("ibsi", False))
    lo, hi = (float(v) for v in processing["resegment"])
    bin_count = int(options.get("bin_count", round((hi - lo) / float(processing["bin_width"]))))
    nyx = nyxus.Nyxus3D(["*3D_ALL*"], n_feature_calc_threads=1, ibsi=ibsi, verbose=0)
    for group in GREYDEPTH_GROUPS:
        nyx.set_metaparam(f"{group}/greydepth={-bin_count}")

    def call(image: str, mask: str) -> Any:
        return nyx.featurize_files([image], [mask], False)

    return call


def summarise(result: Any) -> tuple[int, int, dict[str, Any]]:
    """Count the feature columns of the single ROI row."""
    if len(result) != 1:
        raise ValueError(f"expected one ROI row, nyxus returned {len(result)}")
    cols = [c for c in result.columns if c not in ID_COLUMNS]
    n, bad = count_values(result.iloc[0][cols].tolist())
    return n, bad, {}


if __name__ == "__main__":
    serve(info, prepare, summarise)
