"""GLRLM features (IBSI TP0I) against the IBSI 1 reference table.

One case per reference row, as in ``test_glcm_reference.py`` (whose helpers this module
uses): the digital phantom with all six aggregation methods, configurations A and B with the
four 2D/2.5D methods, C–E with the two 3D methods.
"""

from __future__ import annotations

import pytest
from test_glcm_reference import (
    CT_AGGREGATIONS,
    _rows,
    assert_row_matches,
    compute_row,
    ct_context,
    reference_row,
)

from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.registry import FeatureSpec, all_features

FAMILY = "glrlm"
FAMILY_CODE = "TP0I"
SPECS = [s for s in all_features() if s.family == FAMILY]


def test_family_has_the_16_ibsi_features() -> None:
    assert len(SPECS) == 16
    assert len({s.ibsi for s in SPECS}) == 16
    assert all(s.aggregations == DIRECTIONAL for s in SPECS)
    for s in SPECS:
        assert f"(IBSI {s.ibsi})" in s.doc


@pytest.mark.parametrize("aggregation", DIRECTIONAL, ids=lambda a: a.ibsi)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_digital_phantom(spec: FeatureSpec, aggregation: Aggregation, digital_phantom_context):
    row = reference_row("dig_phantom", FAMILY_CODE, spec.ibsi, aggregation)
    assert_row_matches(compute_row(digital_phantom_context, spec, aggregation), row)


@pytest.mark.parametrize(
    ("dataset", "aggregation"),
    [(d, a) for d, aggs in CT_AGGREGATIONS.items() for a in aggs],
    ids=[f"{d}-{a.ibsi}" for d, aggs in CT_AGGREGATIONS.items() for a in aggs],
)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.ibsi}-{s.feature}")
def test_ct_phantom(spec: FeatureSpec, dataset: str, aggregation: Aggregation) -> None:
    row = reference_row(dataset, FAMILY_CODE, spec.ibsi, aggregation)
    assert_row_matches(compute_row(ct_context(dataset), spec, aggregation), row)


def test_every_reference_row_is_covered() -> None:
    """The parametrisation above reaches every TP0I row of the table."""
    covered = {("dig_phantom", a.ibsi) for a in DIRECTIONAL}
    covered |= {(d, a.ibsi) for d, aggs in CT_AGGREGATIONS.items() for a in aggs}
    codes = {s.ibsi for s in SPECS}
    for dataset in ("dig_phantom", *CT_AGGREGATIONS):
        for r in _rows(dataset, FAMILY_CODE):
            assert (dataset, r["aggregation_code"]) in covered
            assert r["ibsi_code"] in codes
