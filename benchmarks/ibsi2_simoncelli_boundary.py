"""Simoncelli statistics on sarcoma cases before and after issue 20 (IBSI 2 phase 3).

Before: the Simoncelli wavelet with a mirror padding before the FFT, on a crop of 30 mm
around the ROI (the former defaults). After: the periodic boundary (FFT of the image as
given) on the whole processed image (the new defaults). Settings: the ``ibsi2-phase3-<M>``
presets, restricted to the two Simoncelli filters.

Run from the repository root::

    .venv/bin/python benchmarks/ibsi2_simoncelli_boundary.py STS_001 STS_002 STS_003
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from radiomix.extraction import extract
from radiomix.settings import FilterSettings, load_preset

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sts" / "nifti"
MODALITIES = {"CT": "ct", "PET": "pet", "MR": "mr_t1"}
FEATURES = ("mean", "variance", "skewness", "maximum")


def main(cases: list[str]) -> None:
    print("case     mod filter         feature    before(mirror,30mm)  after(periodic,whole)  rel")
    for case in cases:
        for mod, folder in MODALITIES.items():
            preset = load_preset(f"ibsi2-phase3-{mod}")
            sim = tuple(f for f in preset.response_maps.filters if f.kind == "simoncelli")
            after = replace(preset, response_maps=replace(preset.response_maps, filters=sim))
            before = replace(
                preset,
                response_maps=replace(
                    preset.response_maps,
                    filters=tuple(
                        FilterSettings(kind="simoncelli", level=f.level, padding="mirror")
                        for f in sim
                    ),
                    margin_mm=30.0,
                ),
            )
            img, msk = DATA / case / folder / "image.nii.gz", DATA / case / folder / "mask.nii.gz"
            fb = extract(img, msk, settings=before).features
            fa = extract(img, msk, settings=after).features
            for f in sim:
                for feat in FEATURES:
                    a = fa[f"image.{f.tag}.stat.{feat}"]
                    b = fb[f"image.{f.tag}_padmirror.stat.{feat}"]
                    rel = abs(a - b) / max(abs(a), 1e-12)
                    print(
                        f"{case}  {mod:<3} {f.tag:<14} {feat:<10} {b:>19.4g}  {a:>21.4g}  "
                        f"{rel:6.1%}"
                    )


if __name__ == "__main__":
    main(sys.argv[1:] or ["STS_001", "STS_002", "STS_003"])
