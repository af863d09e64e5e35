"""IBSI 2 phase 2: the intensity statistics of the filtered IBSI lung CT phantom, by the
presets ``ibsi2-1A`` … ``ibsi2-9B``, against the consensus values and tolerances of the IBSI 2
study (Whybra et al., Radiology 2024, arXiv:2006.05470).

The consensus values (``ibsi2_phase2_consensus.csv``, 323 values: 18 features of 18
configurations, less the quartile coefficient of dispersion of 8B, which has none) are the
published numbers as tabulated in ``medical-physics-usz/z-rad``
(``tests/data/ibsi_2_reference_values.csv``, commit 3393017), checked against the teams'
submissions in ``theibsi/ibsi_2_data_analysis`` (``results/phase_2/20230111.csv``). A value
passes when it lies within the tolerance of the consensus value, as in the IBSI 2 study.
All 18 configurations take about 30 s together.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from _data import require_data
from radiomix.extraction import extract
from radiomix.settings import load_preset

CONSENSUS = Path(__file__).with_name("ibsi2_phase2_consensus.csv")


def _consensus() -> dict[str, list[tuple[str, float, float]]]:
    table: dict[str, list[tuple[str, float, float]]] = {}
    with CONSENSUS.open(newline="") as fh:
        for row in csv.DictReader(fh):
            table.setdefault(row["configuration"], []).append(
                (row["feature"], float(row["value"]), float(row["tolerance"])))
    return table


REFERENCE = _consensus()


def test_the_table_holds_every_configuration():
    assert sorted(REFERENCE) == sorted(f"{k}{d}" for k in range(1, 10) for d in "AB")
    assert sum(len(v) for v in REFERENCE.values()) == 323
    assert len(REFERENCE["8B"]) == 17


@pytest.mark.parametrize("config", sorted(REFERENCE))
def test_phase2_statistics_match_the_consensus(config):
    phantom = require_data("ibsi1", "ct_phantom", "nifti")
    row = extract(phantom / "image.nii.gz", phantom / "mask.nii.gz",
                  settings=load_preset(f"ibsi2-{config}"), tag="image").features
    prefixes = {k.rsplit(".stat.", 1)[0] for k in row if ".stat." in k}
    if config[0] != "1":
        prefixes.discard("image.original")
    assert len(prefixes) == 1, prefixes
    (prefix,) = prefixes
    failed = []
    for feature, value, tolerance in REFERENCE[config]:
        got = row[f"{prefix}.stat.{feature}"]
        if not abs(got - value) <= tolerance:
            failed.append(f"{feature}: {got:.6g} vs {value:g} ± {tolerance:g}")
    assert not failed, f"{config} ({prefix}): {failed}"
