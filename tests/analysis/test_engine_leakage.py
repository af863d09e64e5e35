"""The engine's slice-level leakage audit: slices that carry their patient's identity (and
nothing about the outcome) score high only when one patient sits on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import leakage_doc, run_analysis
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError, SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 100}


def _spec(**audit):
    return analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"]},
        "arms": [{"name": "radiomics", "blocks": ["radiomic"], "model": "logistic"}],
        "baselines": [],
        "validation": dict(FAST),
        "leakage_audit": {"table": "deep_slices.parquet", "outcome": "y", **audit},
    })


def _slices(patients, *, per=12, dim=16, seed=1):
    """Each patient's slices scatter tightly around a patient-specific point: the identity
    is learnable, the outcome is not (labels are assigned independently of the points)."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in patients:
        centre = rng.normal(scale=3.0, size=dim)
        for k in range(per):
            rows.append({"patient_id": p, "lesion_id": "1", "tag": "ct", "slice_index": k,
                         **{f"ct.deep.resnet18_slices.f{j:03d}": v
                            for j, v in enumerate(centre + rng.normal(scale=0.3, size=dim))}})
    return pd.DataFrame(rows)


def test_naive_slice_splits_inflate_and_grouped_ones_do_not():
    feats, clin = cohort(40)
    spec = _spec()
    table = build_table(feats, spec, clinical=clin)
    slices = _slices(feats["patient_id"])
    doc = leakage_doc(spec, table, slices)
    assert doc["n_rows"] == 480
    assert doc["n_patients"] == 40
    assert [s["scheme"] for s in doc["schemes"]] == ["hold-out 70%/30% x3", "3-fold CV x3"]
    for s in doc["schemes"]:
        naive, grouped = s["naive"], s["grouped"]
        assert "LEAKY" in naive["label"]
        assert "LEAKY" not in grouped["label"]
        assert naive["roc_auc"]["estimate"] > 0.9          # the patient is recognised
        assert naive["test_rows_with_patient_in_train"] > 0.9
        assert grouped["test_rows_with_patient_in_train"] == 0.0
        g = grouped["roc_auc"]
        assert g["ci_low"] < 0.5 < g["ci_high"]            # nothing about the outcome
        assert s["inflation"]["roc_auc"] == pytest.approx(
            naive["roc_auc"]["estimate"] - g["estimate"])
        for side in (naive, grouped):  # every metric with its interval (round 16)
            acc = side["accuracy"]
            assert acc["ci_low"] <= acc["estimate"] <= acc["ci_high"]
        assert s["inflation"]["accuracy"] == pytest.approx(
            naive["accuracy"]["estimate"] - grouped["accuracy"]["estimate"])


def test_the_audit_lands_in_the_document(tmp_path):
    feats, clin = cohort(30)
    spec = _spec(model="logistic", pca=None)
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path, save_models=False,
                       slices=_slices(feats["patient_id"], per=5))
    leak = doc["leakage"]
    assert leak["n_rows"] == 150
    assert "logistic" in leak["model"]
    assert len(leak["schemes"]) == 2


def test_slices_of_unanalysed_patients_are_left_out_and_bad_tables_refused():
    feats, clin = cohort(30)
    spec = _spec()
    table = build_table(feats, spec, clinical=clin)
    extra = _slices([*list(feats["patient_id"]), "STRANGER"], per=4)
    assert leakage_doc(spec, table, extra)["n_patients"] == 30
    with pytest.raises(InputError, match="no column"):
        leakage_doc(spec, table, extra.rename(columns=lambda c: c.replace("deep", "x")))
    bad = extra.copy()
    bad.iloc[3, 5] = np.inf
    with pytest.raises(InputError, match="infinite"):
        leakage_doc(spec, table, bad)
    with pytest.raises(InputError, match="patient_id"):
        leakage_doc(spec, table, extra.drop(columns="patient_id"))


def test_a_slice_table_of_other_ids_is_refused_and_a_partial_one_said(caplog):
    """Round 16: ids lower-cased in the slice table ended in "the slices hold one class
    only" (no slice matched); a table of half the patients ran on those without a word."""
    feats, clin = cohort(30)
    spec = _spec()
    table = build_table(feats, spec, clinical=clin)
    patients = list(feats["patient_id"])
    lower = _slices([p.lower() for p in patients], per=4)
    with pytest.raises(InputError, match=r"no patient_id of deep_slices.parquet is among the "
                                         r"30 analysed patients \(e.g. 'p000'; did you mean "
                                         r"'P000'\?\)"):
        leakage_doc(spec, table, lower)
    with caplog.at_level("WARNING", logger="radiomix.analysis.engine"):
        doc = leakage_doc(spec, table, _slices(patients[:15], per=4))
    assert doc["n_patients"] == 15
    assert doc["n_patients_without_slices"] == 15
    assert "15 analysed patient(s) have no slice in the table" in doc["description"]
    assert ("15 of the 30 analysed patients have no slice in deep_slices.parquet (e.g. "
            "'P015'); the audit covers the other 15") in caplog.text


def test_the_audit_needs_a_binary_outcome_and_a_known_model():
    with pytest.raises(SettingsError, match="model"):
        _spec(model="forest")
    with pytest.raises(SettingsError, match="pca"):
        _spec(pca=0)


def test_a_slice_table_of_two_deep_tags_audits_one_and_says_so(caplog):
    """Round 20 (tester S): the cohort's slice table with ``deep.tags: [ct, pet]`` stacks
    the tags (each row holds its own tag's columns, the other tag's empty); the audit
    refused it for missing values and the whole analysis stopped."""
    feats, clin = cohort(30)
    spec = _spec()
    table = build_table(feats, spec, clinical=clin)
    ct = _slices(feats["patient_id"], per=6, seed=1)
    pet = _slices(feats["patient_id"], per=6, seed=2).rename(
        columns=lambda c: c.replace("ct.deep", "pet.deep")).assign(tag="pet")
    both = pd.concat([ct, pet], ignore_index=True)  # as the cohort writes it: NaN blocks
    assert both.filter(like=".deep.").isna().any().all()
    with caplog.at_level("WARNING", logger="radiomix"):
        doc = leakage_doc(spec, table, both)
    alone = leakage_doc(spec, table, ct)
    assert doc["n_rows"] == alone["n_rows"] == 180
    assert doc["schemes"] == alone["schemes"]  # the same audit as on the ct rows alone
    assert "holds the slices of 2 image tags (ct, pet); the audit reads ct's" in \
        doc["description"]
    assert "['pet.deep.*'] audits pet's" in doc["description"]
    assert any("2 image tags" in r.getMessage() for r in caplog.records)
    only_pet = leakage_doc(_spec(columns=["pet.deep.*"]), table, both)
    assert only_pet["n_rows"] == 180
    assert "image tags" not in only_pet["description"]
