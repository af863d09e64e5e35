"""pyradiomics' ``force2D`` is radiomix's 2.5D aggregation (README, "Coming from pyradiomics").

pyradiomics 3.1 with ``force2D: true, force2Ddimension: 0, binWidth: 1`` on the IBSI digital
phantom (label 1) printed the values below (run in its own environment, 2026-12-05; it is not
a dependency). They equal radiomix's ``2p5d_direction_merged`` (GLCM, GLRLM) and ``2p5d``
(GLSZM, NGTDM, NGLDM) columns, not the per-slice ``2d_*`` ones the README first named.
"""

from __future__ import annotations

import pytest
from tests._data import require_data

import radiomix

PYRADIOMICS_FORCE2D = {
    "glcm.contrast.2p5d_direction_merged": 5.3928,
    "glcm.correlation.2p5d_direction_merged": 0.17755,
    "glrlm.run_length_nonuniformity.2p5d_direction_merged": 22.292,
    "glrlm.grey_level_nonuniformity.2p5d_direction_merged": 19.463,
    "glszm.zone_size_entropy.2p5d": 3.0805,
    "glszm.small_zone_emphasis.2p5d": 0.36752,
    "ngtdm.coarseness.2p5d": 0.028470,
    "ngtdm.contrast.2p5d": 0.60118,
    "ngldm.dependence_count_nonuniformity.2p5d": 12.351,
    "ngldm.high_dependence_emphasis.2p5d": 18.838,
}
"""Column (``<tag>.original.`` left out) -> pyradiomics' force2D value, 5 significant digits."""


def test_pyradiomics_force2d_values_are_the_2p5d_columns():
    folder = require_data("ibsi1", "digital_phantom")
    row = radiomix.extract(
        folder / "image.nii.gz", folder / "mask.nii.gz", tag="t", dimensionality="2d",
        discretisation={"method": "fbs", "bin_width": 1.0},
        features={"families": ["glcm", "glrlm", "glszm", "ngtdm", "ngldm"]})
    for column, value in PYRADIOMICS_FORCE2D.items():
        assert float(row[f"t.original.{column}"].iloc[0]) == pytest.approx(value, rel=5e-5), column
    # the per-slice columns are other numbers (what the README named before)
    assert float(row["t.original.glcm.contrast.2d_averaged"].iloc[0]) == pytest.approx(
        5.2779, rel=5e-5)
