"""GLSZM features (IBSI 9SAK) against the IBSI 1 reference table.

One case per reference row: the digital phantom with the three aggregation methods (2D,
2.5D, 3D) and the CT phantom configurations A–E (A and B are 2D: rows for 2D and 2.5D only;
C, D and E are 3D: rows for 3D only). A row matches when |computed − value| ≤ tolerance;
rows with tolerance 0 must round to the printed value (3 significant digits).

The helpers here are shared with the GLDZM, NGTDM and NGLDM reference tests.
"""

from __future__ import annotations

import functools
import math

import pytest

from _data import read_reference_rows, require_data
from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.registry import FeatureSpec, all_features, family_compute
from radiomix.roi import RoiContext

CT_ZONAL: dict[str, tuple[Aggregation, ...]] = {
    "config_A": (Aggregation.D2, Aggregation.D2P5),
    "config_B": (Aggregation.D2, Aggregation.D2P5),
    "config_C": (Aggregation.D3,),
    "config_D": (Aggregation.D3,),
    "config_E": (Aggregation.D3,),
}
"""Aggregation methods with reference values, per CT-phantom configuration."""

CT_CASES = [(d, a) for d, aggs in CT_ZONAL.items() for a in aggs]
CT_IDS = [f"{d}-{a.ibsi}" for d, a in CT_CASES]


@functools.cache
def rows(dataset: str, family_code: str) -> tuple[dict[str, str], ...]:
    """Reference rows of one data set and family (read once)."""
    return tuple(read_reference_rows(dataset, family_code))


def reference_row(
    dataset: str, family_code: str, ibsi_code: str, aggregation: Aggregation
) -> dict[str, str]:
    """The single reference row for a data set, feature code and aggregation method."""
    found = [
        r
        for r in rows(dataset, family_code)
        if r["ibsi_code"] == ibsi_code and r["aggregation_code"] == aggregation.ibsi
    ]
    assert len(found) == 1, f"expected one row for {dataset} {ibsi_code} {aggregation.ibsi}"
    return found[0]


def assert_row_matches(value: float, row: dict[str, str]) -> None:
    """Check a computed value against a reference row (tolerance, or rounding when 0)."""
    assert row["value"], f"row without reference value: {row}"
    ref, tol = float(row["value"]), float(row["tolerance"])
    where = f"{row['dataset']} {row['feature']} ({row['ibsi_code']}) {row['aggregation']}"
    assert math.isfinite(value), f"{where}: computed {value}"
    if tol > 0:
        assert abs(value - ref) <= tol * (1 + 1e-12), f"{where}: {value} vs {ref} ± {tol}"
    elif ref == 0:
        assert abs(value) < 1e-12, f"{where}: {value} is not 0"
    else:
        assert float(f"{value:.3g}") == ref, f"{where}: {value} does not round to {ref}"


def compute_row(ctx: RoiContext, spec: FeatureSpec, aggregation: Aggregation) -> float:
    """Value of one feature for one aggregation, through the family compute function."""
    return family_compute(spec.family)(ctx, aggregation, [spec])[spec.name]


@functools.cache
def ct_context(dataset: str) -> RoiContext:
    """Processed CT-phantom context of one configuration (NIfTI input), cached per run."""
    require_data("ibsi1", "ct_phantom")
    ibsi = pytest.importorskip("radiomix.ibsi", reason="the IBSI processing chain is absent")
    return ibsi.context_for_dataset(dataset)


def family_specs(family: str) -> list[FeatureSpec]:
    """Registered features of one family, in registration order."""
    return [s for s in all_features() if s.family == family]


def check_coverage(family_code: str, specs: list[FeatureSpec]) -> None:
    """Every reference row of the family is reached by the parametrisation."""
    covered = {("dig_phantom", a.ibsi) for a in ZONAL} | {(d, a.ibsi) for d, a in CT_CASES}
    codes = {s.ibsi for s in specs}
    n = 0
    for dataset in ("dig_phantom", *CT_ZONAL):
        for r in rows(dataset, family_code):
            assert (dataset, r["aggregation_code"]) in covered
            assert r["ibsi_code"] in codes
            n += 1
    assert n == len(specs) * (3 + len(CT_CASES))


FAMILY_CODE = "9SAK"
SPECS = family_specs("glszm")


def test_family_has_the_16_ibsi_features() -> None:
    assert len(SPECS) == 16
    assert len({s.ibsi for s in SPECS}) == 16
    assert all(s.aggregations == ZONAL for s in SPECS)
    for s in SPECS:
        assert f"(IBSI {s.ibsi})" in s.doc
    # the column name of the design document's worked example
    spec = next(s for s in SPECS if s.ibsi == "4JP3")
    column = spec.column(tag="ct", filter_name="original", aggregation=Aggregation.D2)
    assert column == "ct.original.glszm.zone_size_nonuniformity.2d"


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
