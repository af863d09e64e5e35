"""Intensity histogram features (IBSI ZVCW) against the IBSI 1 reference table.

One case per reference row (digital phantom, CT phantom configurations A–E); helpers from
``test_morphology_reference.py``.
"""

from __future__ import annotations

import pytest
from test_morphology_reference import CT_DATASETS, _rows, check_reference, ct_context

from radiomix.features.registry import FeatureSpec, all_features

SPECS = [s for s in all_features() if s.family == "ih"]


def test_family_registers_the_23_ibsi_features() -> None:
    assert len(SPECS) == 23
    assert len({s.ibsi for s in SPECS}) == 23
    for s in SPECS:
        assert f"(IBSI {s.ibsi})" in s.doc


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_digital_phantom(spec: FeatureSpec, digital_phantom_context) -> None:
    check_reference(digital_phantom_context, "dig_phantom", spec)


@pytest.mark.parametrize("dataset", CT_DATASETS)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_ct_phantom(spec: FeatureSpec, dataset: str) -> None:
    check_reference(ct_context(dataset), dataset, spec)


def test_every_reference_row_is_covered() -> None:
    codes = {s.ibsi for s in SPECS}
    for dataset in ("dig_phantom", *CT_DATASETS):
        assert {r["ibsi_code"] for r in _rows(dataset, "ZVCW")} == codes
