"""Intensity-based statistical features (IBSI UHIW) against the IBSI 1 reference table.

One case per reference row (digital phantom, CT phantom configurations A–E); helpers from
``test_morphology_reference.py``.
"""

from __future__ import annotations

import pytest
from test_morphology_reference import CT_DATASETS, _rows, check_reference, ct_context

from radiomix.features.registry import FeatureSpec, all_features

SPECS = [s for s in all_features() if s.family == "stat"]
REF_SPECS = [s for s in SPECS if s.ibsi is not None]


def test_family_registers_the_18_ibsi_features() -> None:
    assert len(REF_SPECS) == 18
    assert len({s.ibsi for s in REF_SPECS}) == 18
    for s in REF_SPECS:
        assert f"(IBSI {s.ibsi})" in s.doc
    by_code = {s.ibsi: s.name for s in SPECS}
    # the lung study's first-order features
    assert by_code["Q4LE"] == "stat.mean"
    assert by_code["KE2A"] == "stat.skewness"
    assert by_code["IPH6"] == "stat.kurtosis"
    assert by_code[None] == "stat.standard_deviation"


@pytest.mark.parametrize("spec", REF_SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_digital_phantom(spec: FeatureSpec, digital_phantom_context) -> None:
    check_reference(digital_phantom_context, "dig_phantom", spec)


@pytest.mark.parametrize("dataset", CT_DATASETS)
@pytest.mark.parametrize("spec", REF_SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_ct_phantom(spec: FeatureSpec, dataset: str) -> None:
    check_reference(ct_context(dataset), dataset, spec)


def test_every_reference_row_is_covered() -> None:
    codes = {s.ibsi for s in REF_SPECS}
    for dataset in ("dig_phantom", *CT_DATASETS):
        assert {r["ibsi_code"] for r in _rows(dataset, "UHIW")} == codes
