"""The liver-like example's robustness arms carry their steps (no extraction: the arms are
built on a table with the example's column names and random values).

- ``radscore_ct_stable``: the stability filter reads ``stability.parquet`` beside the study
  file, which assesses the CT tags the arm uses;
- ``radscore_pet_combat``: ComBat by ``pet_grid``, a batch column with at least two batches
  in the training centre, every batch of the external centre among them, and enough
  training patients per batch for the inner folds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _data import require_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "liver_like"


@pytest.fixture(scope="module")
def example():
    require_data("sts", "nifti")  # the study file's data_root points there
    from radiomix.settings.study import load_study

    study = load_study(EXAMPLE / "study.yaml")
    spec = study.settings.analysis
    manifest = pd.read_csv(EXAMPLE / "manifest.csv", dtype=str)
    stab = pd.read_parquet(EXAMPLE / "stability.parquet")
    rng = np.random.default_rng(0)
    names = [*stab["feature"], "pet.original.stat.mean", "pet.original.glcm.joint_entropy.3d_avg",
             "pet.original.stat.variance", "mr_t1.original.stat.mean",
             "ct2d.original.stat.mean", "ct2d.original.glcm.joint_entropy.2d_avg"]
    feats = pd.DataFrame(rng.normal(size=(len(manifest), len(names))), columns=names)
    carried = list(study.settings.columns.carried)
    feats = pd.concat([manifest[["patient_id", "lesion_id", *carried]], feats], axis=1)
    return study, spec, manifest, stab, feats


def _arm(spec, name):
    return next(a for a in spec.arms if a.name == name)


def test_the_arms_declare_the_steps(example):
    study, spec, _, _, _ = example
    stable = _arm(spec, "radscore_ct_stable")
    assert stable.stability == "stability.parquet"
    assert stable.stability_threshold == 0.75
    assert not stable.harmonise
    combat = _arm(spec, "radscore_pet_combat")
    assert combat.harmonise
    assert combat.harmonise_batch == "pet_grid"
    assert "pet_grid" in study.settings.columns.carried  # reaches the feature table
    # each robust arm has a twin without the step, for the comparison
    assert _arm(spec, "radscore_ct").radiomic == stable.radiomic
    assert _arm(spec, "radscore_pet").radiomic == combat.radiomic


def test_the_stability_table_assesses_the_ct_tags(example):
    _, _spec, _, stab, _ = example
    assert set(stab["tag"]) == {"ct", "ct_ring"}
    assert stab["n_lesions"].max() == 20  # 20 patients (a lesion may lack a feature)
    assert stab["n_perturbations"].min() >= 5
    assert (stab["icc_form"] == "ICC(1,1)").all()
    for tag in ("ct", "ct_ring"):
        assert stab.loc[stab.tag == tag, "ci_low"].ge(0.75).any(), tag


def test_the_stability_table_was_computed_with_the_study_settings():
    """The committed table must be rerun after a change of the CT settings: the analysis
    refuses a table whose recorded settings differ from the features'."""
    from radiomix.settings.study import load_study
    from radiomix.table import read_provenance

    recorded = read_provenance(EXAMPLE / "stability.parquet")["tag_settings_hash"]
    hashes = load_study(EXAMPLE / "study.yaml").tag_hashes()
    assert recorded == {t: hashes[t] for t in ("ct", "ct_ring")}


def test_the_pet_grid_batches_all_occur_in_training(example):
    _, spec, manifest, _, _ = example
    test = manifest["centre"].isin(spec.validation.test_centres)
    train_counts = manifest.loc[~test, "pet_grid"].value_counts()
    assert len(train_counts) >= 2
    assert set(manifest.loc[test, "pet_grid"]) <= set(train_counts.index)
    # the smallest batch keeps >= 2 patients in an inner training fold (5 outer x 3 inner)
    assert train_counts.min() >= 10


def test_the_built_arms_carry_the_steps(example):
    from radiomix.analysis.arms import build_arms
    from radiomix.analysis.data import build_table

    study, spec, _, stab, feats = example
    table = build_table(feats, spec)
    outcome = next(o for o in spec.outcomes if o.name == "lung_mets")
    arms = {a.key: a for a in build_arms(spec, table, outcome, base_dir=study.path.parent)}
    est = arms["radscore_ct_stable"].estimator
    assert next(iter(est.named_steps)) == "stable"
    assert Path(est.named_steps["stable"].stability) == EXAMPLE / "stability.parquet"
    cols = arms["radscore_ct_stable"].columns
    assert cols
    assert all(c.startswith(("ct.", "ct_ring.")) for c in cols)
    kept = est.named_steps["stable"].fit(table.X[cols]).get_feature_names_out()
    ok = set(stab.loc[stab.ci_low >= 0.75, "feature"])
    assert 0 < len(kept) < len(cols)
    assert set(kept) <= ok
    pet = arms["radscore_pet_combat"]
    assert pet.columns[-1] == "__batch__.pet_grid"
    assert pet.estimator.named_steps["combat"].batch == "__batch__.pet_grid"
    assert "ComBat by pet_grid" in pet.description
    assert "combat" not in arms["radscore_pet"].estimator.named_steps
    assert "stable" not in arms["radscore_ct"].estimator.named_steps
    batch = table.X["__batch__.pet_grid"].to_numpy()
    train = ~np.isin(table.centre, list(spec.validation.test_centres))
    assert len(set(batch[train])) == 2
    assert set(batch[~train]) <= set(batch[train])


def _analyse_a_copy(feats, tmp_path, copied, edit=None):
    """``radiomix analyse`` (a subprocess) of a copy of the example: the files ``copied``,
    the study file through ``edit`` (old text, new text), the features as a CSV."""
    import os
    import shutil
    import subprocess
    import sys

    from _data import DATA_DIR

    for name in copied:
        shutil.copy(EXAMPLE / name, tmp_path / name)
    text = (EXAMPLE / "study.yaml").read_text()
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    (tmp_path / "study.yaml").write_text(text)
    feats.to_csv(tmp_path / "features.csv", index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "radiomix.cli", "analyse", str(tmp_path / "study.yaml"),
         "--features", str(tmp_path / "features.csv"), "--out", str(tmp_path / "o"),
         "--quiet", "--no-report"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "RADIOMIX_DATA": str(DATA_DIR)})
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def test_without_its_stability_table_analyse_stops_naming_the_command(example, tmp_path):
    proc = _analyse_a_copy(example[4], tmp_path, ["manifest.csv"])  # no stability.parquet
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "stability.parquet not found" in proc.stderr
    assert "radiomix stability" in proc.stderr


def test_a_stability_table_of_other_settings_than_the_study_is_refused_for_a_csv(
        example, tmp_path):
    # outside tester d (round 21): a feature table without radiomix's per-case record (a CSV
    # saved by pandas) skipped the settings check; it is now made against the study file
    proc = _analyse_a_copy(example[4], tmp_path, ["manifest.csv", "stability.parquet"],
                           ("discretisation: {method: fbs, bin_width: 25}",  # the ct tag's
                            "discretisation: {method: fbs, bin_width: 20}"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "extraction settings for tag ct than the study file's declaration" in proc.stderr


def test_a_stability_threshold_that_keeps_no_feature_is_refused_before_any_fit(
        example, tmp_path):
    # outside tester d (round 21): threshold 1.0 kept 0 of 99 features; the arm ran and was
    # "not estimable" with scikit-learn's "Found array with 0 feature(s)", exit 0
    proc = _analyse_a_copy(example[4], tmp_path, ["manifest.csv", "stability.parquet"],
                           ("stability_threshold: 0.75,", "stability_threshold: 1.0,"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = next(x for x in proc.stderr.splitlines() if x.startswith("error"))
    assert "arm radscore_ct_stable: the stability filter keeps none of the " in line
    assert "at stability_threshold 1 (the highest 95 % lower bound among them is 0.99" in line
    assert "lower stability_threshold" in line
