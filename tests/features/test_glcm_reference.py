"""GLCM features (IBSI LFYI) against the IBSI 1 reference table.

One case per reference row: the digital phantom (all six aggregation methods) and the CT
phantom configurations A–E (A and B are 2D configurations with reference values for the
four 2D/2.5D methods only; C, D and E are 3D with the two 3D methods only). Rows match when
|computed − value| ≤ tolerance; rows with tolerance 0 must round to the printed value (3
significant digits).
"""

from __future__ import annotations

import pytest
from texture_reference import (
    CT_AGGREGATIONS,
    assert_row_matches,
    compute_row,
    ct_context,
    reference_row,
)

from radiomix.features.aggregation import DIRECTIONAL
from radiomix.features.registry import all_features

FAMILY = "glcm"
FAMILY_CODE = "LFYI"
SPECS = [s for s in all_features() if s.family == FAMILY]


def test_family_has_the_25_ibsi_features() -> None:
    """Every IBSI GLCM feature is registered once, with its code."""
    assert len(SPECS) == 25
    assert len({s.ibsi for s in SPECS}) == 25
    lung = {s.ibsi: s.name for s in SPECS}
    # the lung study's features carry their IBSI names and codes
    assert lung["TU9B"] == "glcm.joint_entropy"
    assert lung["ACUI"] == "glcm.contrast"
    assert lung["IB1Z"] == "glcm.inverse_difference"
    assert lung["NI2N"] == "glcm.correlation"


@pytest.mark.parametrize("aggregation", DIRECTIONAL, ids=lambda a: a.ibsi)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_digital_phantom(spec, aggregation, digital_phantom_context) -> None:
    row = reference_row("dig_phantom", FAMILY_CODE, spec.ibsi, aggregation)
    value = compute_row(digital_phantom_context, spec, aggregation)
    assert_row_matches(value, row)


@pytest.mark.parametrize(
    ("dataset", "aggregation"),
    [(d, a) for d, aggs in CT_AGGREGATIONS.items() for a in aggs],
    ids=lambda x: getattr(x, "ibsi", x),
)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_ct_phantom(spec, dataset, aggregation) -> None:
    row = reference_row(dataset, FAMILY_CODE, spec.ibsi, aggregation)
    value = compute_row(ct_context(dataset), spec, aggregation)
    assert_row_matches(value, row)
