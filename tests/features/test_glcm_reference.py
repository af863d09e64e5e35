"""GLCM features (IBSI LFYI) against the IBSI 1 reference table.

One case per reference row: the digital phantom (all six aggregation methods) and the CT
phantom configurations A–E. Configurations A and B are 2D: the table has values for the four
2D/2.5D methods only; C, D and E are 3D, with values for the two 3D methods only (so those
pairs are not parametrised). A row matches when |computed − value| ≤ tolerance; rows with
tolerance 0 must round to the printed value (3 significant digits).

The helpers here are shared with ``test_glrlm_reference.py``.
"""

from __future__ import annotations

import functools
import math

import pytest

from _data import read_reference_rows
from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.registry import FeatureSpec, all_features, family_compute
from radiomix.roi import RoiContext

CT_AGGREGATIONS: dict[str, tuple[Aggregation, ...]] = {
    "config_A": tuple(a for a in DIRECTIONAL if not a.is_3d),
    "config_B": tuple(a for a in DIRECTIONAL if not a.is_3d),
    "config_C": tuple(a for a in DIRECTIONAL if a.is_3d),
    "config_D": tuple(a for a in DIRECTIONAL if a.is_3d),
    "config_E": tuple(a for a in DIRECTIONAL if a.is_3d),
}
"""Aggregation methods with reference values, per CT-phantom configuration."""


@functools.cache
def _rows(dataset: str, family_code: str) -> tuple[dict[str, str], ...]:
    return tuple(read_reference_rows(dataset, family_code))


def reference_row(
    dataset: str, family_code: str, ibsi_code: str, aggregation: Aggregation
) -> dict[str, str]:
    """The single reference row for a data set, feature code and aggregation method."""
    found = [
        r
        for r in _rows(dataset, family_code)
        if r["ibsi_code"] == ibsi_code and r["aggregation_code"] == aggregation.ibsi
    ]
    assert len(found) == 1, f"expected one row for {dataset} {ibsi_code} {aggregation.ibsi}"
    return found[0]


def compute_row(ctx: RoiContext, spec: FeatureSpec, aggregation: Aggregation) -> float:
    """Value of one feature for one aggregation, through the family compute function."""
    return family_compute(spec.family)(ctx, aggregation, [spec])[spec.name]


def assert_row_matches(value: float, row: dict[str, str]) -> None:
    """Check a computed value against a reference row (tolerance, or rounding when 0)."""
    assert row["value"], f"row without reference value: {row}"
    ref, tol = float(row["value"]), float(row["tolerance"])
    where = f"{row['dataset']} {row['feature']} ({row['ibsi_code']}) {row['aggregation']}"
    assert math.isfinite(value), f"{where}: computed {value}"
    if tol > 0:
        assert abs(value - ref) <= tol * (1 + 1e-12), f"{where}: {value} vs {ref} ± {tol}"
    else:
        assert float(f"{value:.3g}") == ref, f"{where}: {value} does not round to {ref}"


@functools.cache
def ct_context(dataset: str) -> RoiContext:
    """Processed CT-phantom context of one configuration (from the NIfTI files), cached."""
    ibsi = pytest.importorskip("radiomix.ibsi", reason="the IBSI processing chain is absent")
    from _data import require_data

    require_data("ibsi1", "ct_phantom")
    return ibsi.context_for_dataset(dataset)


FAMILY = "glcm"
FAMILY_CODE = "LFYI"
SPECS = [s for s in all_features() if s.family == FAMILY]


def test_family_has_the_25_ibsi_features() -> None:
    """Every IBSI GLCM feature is registered once, with its code, for all six methods."""
    assert len(SPECS) == 25
    assert len({s.ibsi for s in SPECS}) == 25
    assert all(s.aggregations == DIRECTIONAL for s in SPECS)
    by_code = {s.ibsi: s.name for s in SPECS}
    # the lung study's GLCM features carry their IBSI names and codes
    assert by_code["TU9B"] == "glcm.joint_entropy"
    assert by_code["ACUI"] == "glcm.contrast"
    assert by_code["IB1Z"] == "glcm.inverse_difference"
    assert by_code["NI2N"] == "glcm.correlation"
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
    """The parametrisation above reaches every LFYI row of the table."""
    covered = {("dig_phantom", a.ibsi) for a in DIRECTIONAL}
    covered |= {(d, a.ibsi) for d, aggs in CT_AGGREGATIONS.items() for a in aggs}
    codes = {s.ibsi for s in SPECS}
    for dataset in ("dig_phantom", *CT_AGGREGATIONS):
        for r in _rows(dataset, FAMILY_CODE):
            assert (dataset, r["aggregation_code"]) in covered
            assert r["ibsi_code"] in codes
