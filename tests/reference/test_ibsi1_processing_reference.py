"""The processing chain against the IBSI 1 reference values that prove it.

Volume by voxel counting (YEKZ), mean intensity (Q4LE) and maximum discretised intensity
(3NCY) of the digital phantom and of configurations A–E, from the CT phantom's NIfTI files
and from its DICOM series + RTSTRUCT: together they test interpolation, rounding, the ROI
partial-volume threshold, re-segmentation and discretisation.
"""

from __future__ import annotations

import pytest

from _data import require_data
from radiomix.ibsi import (
    DATASETS,
    column_for_row,
    compute_dataset,
    matches,
    reference_rows,
    spec_for_row,
)

CASES = [("dig_phantom", "nifti")] + [
    (ds, src) for ds in DATASETS if ds != "dig_phantom" for src in ("nifti", "dicom")
]


@pytest.fixture(scope="module")
def computed():
    require_data("ibsi1")
    cache: dict[tuple[str, str], dict[str, float]] = {}

    def get(ds: str, src: str) -> dict[str, float]:
        if (ds, src) not in cache:
            cache[(ds, src)] = compute_dataset(ds, source=src)
        return cache[(ds, src)]

    return get


@pytest.mark.parametrize(("dataset", "source"), CASES)
@pytest.mark.parametrize("code", ["YEKZ", "Q4LE", "3NCY"])
def test_processing_reference_value(computed, dataset, source, code):
    (row,) = [r for r in reference_rows() if r.dataset == dataset and r.ibsi_code == code]
    spec = spec_for_row(row)
    assert spec is not None
    value = computed(dataset, source)[column_for_row(row, spec)]
    assert matches(value, row), (
        f"{dataset}/{source} {code}: {value} vs {row.value} ± {row.tolerance}"
    )
