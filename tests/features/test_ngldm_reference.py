"""NGLDM features (IBSI REK0) against the IBSI 1 reference table.

One case per reference row, as in ``test_glszm_reference.py`` (whose helpers this module
uses): the digital phantom with the 2D, 2.5D and 3D methods, configurations A and B with 2D
and 2.5D, C–E with 3D.
"""

from __future__ import annotations

import pytest
from test_glszm_reference import (
    CT_CASES,
    CT_IDS,
    assert_row_matches,
    check_coverage,
    compute_row,
    ct_context,
    family_specs,
    reference_row,
)

from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.registry import FeatureSpec

FAMILY_CODE = "REK0"
SPECS = family_specs("ngldm")


def test_family_has_the_17_ibsi_features() -> None:
    assert len(SPECS) == 17
    assert len({s.ibsi for s in SPECS}) == 17
    assert all(s.aggregations == ZONAL for s in SPECS)
    for s in SPECS:
        assert f"(IBSI {s.ibsi})" in s.doc


@pytest.mark.parametrize("aggregation", ZONAL, ids=lambda a: a.ibsi)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_digital_phantom(spec: FeatureSpec, aggregation: Aggregation, digital_phantom_context):
    row = reference_row("dig_phantom", FAMILY_CODE, spec.ibsi, aggregation)
    assert_row_matches(compute_row(digital_phantom_context, spec, aggregation), row)


@pytest.mark.parametrize(("dataset", "aggregation"), CT_CASES, ids=CT_IDS)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_ct_phantom(spec: FeatureSpec, dataset: str, aggregation: Aggregation) -> None:
    row = reference_row(dataset, FAMILY_CODE, spec.ibsi, aggregation)
    assert_row_matches(compute_row(ct_context(dataset), spec, aggregation), row)


def test_every_reference_row_is_covered() -> None:
    check_coverage(FAMILY_CODE, SPECS)
