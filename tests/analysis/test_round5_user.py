"""Round 5 as a user: what a tester found in the analysis layer, each fixed here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from _data import DATA_DIR, require_data
from radiomix.analysis.study import cohort_folder


def test_cohort_folder_is_a_runs_own_output(tmp_path: Path) -> None:
    assert cohort_folder(tmp_path) == tmp_path / "features"
    (tmp_path / "features.parquet").write_bytes(b"")
    assert cohort_folder(tmp_path) == tmp_path / "features"  # no case cache: not a run
    (tmp_path / "cases").mkdir()
    assert cohort_folder(tmp_path) == tmp_path


def test_analyse_after_run_in_the_same_folder_reuses_every_case(tmp_path: Path) -> None:
    """``radiomix run STUDY --out DIR`` then ``radiomix analyse STUDY --out DIR`` (the
    README's two commands): the analysis extracts nothing again."""
    require_data("sts", "nifti")
    from radiomix.analysis.study import analyse_study
    from radiomix.cohort import run_study
    from radiomix.demo import write_demo_study
    from radiomix.settings.study import load_study

    study_path = write_demo_study(tmp_path / "study_src", DATA_DIR, patients=12, quick=True,
                                  seed=0)
    out = tmp_path / "out"
    res = run_study(load_study(study_path), out, jobs=1)
    cases = sorted(p.name for p in (out / "cases").iterdir())
    assert cases
    assert Path(res.features_path) == out / "features.parquet"
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "cases").iterdir()}
    time.sleep(0.01)
    events = []
    from radiomix.demo import example_study_dir

    source = example_study_dir() / "study.yaml"
    analyse_study(study_path, out, report=False, progress=events.append, derived_from=source)
    starts = [e for e in events if e.stage == "features" and "reused" in e.message]
    assert starts, [e.message for e in events]
    assert starts[0].done == starts[0].total == len(cases)  # every case reused
    assert not (out / "features").exists()
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cases").iterdir()} == stamp
    import hashlib
    import json

    doc = json.loads((out / "analysis.json").read_text())
    assert doc["study"]["derived_from"] == {
        "file": "study.yaml", "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
    assert doc["study"]["study_sha256"] == hashlib.sha256(study_path.read_bytes()).hexdigest()


_SCRIPT = '''
import pandas as pd, radiomix
img = {img!r}; msk = {msk!r}
cases = pd.DataFrame({{"case_id": ["P1", "P2"], "image": [img] * 2, "mask": [msk] * 2}})
{call}
'''


@pytest.mark.parametrize("guarded", [False, True])
def test_extract_many_with_workers_from_a_script(tmp_path: Path, guarded: bool) -> None:
    """``extract_many(n_jobs=2)`` at a script's top level: refused before any worker starts,
    naming the line and the guard (workers re-import the script and used to die, each case
    reported as "out of memory?"); under the guard it runs."""
    import subprocess
    import sys

    require_data("ibsi1")
    phantom = DATA_DIR / "ibsi1" / "ct_phantom" / "nifti"
    call = ('t = radiomix.extract_many(cases, "ibsi-C", tag="ct", n_jobs=2, '
            'features={"families": ["stat"]})\n'
            'print("rows", len(t), "errors", len(t.attrs.get("errors", [])))')
    if guarded:
        call = 'if __name__ == "__main__":\n    ' + call.replace("\n", "\n    ")
    script = tmp_path / "extract_script.py"
    script.write_text(_SCRIPT.format(img=str(phantom / "image.nii.gz"),
                                     msk=str(phantom / "mask.nii.gz"), call=call))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    if guarded:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "rows 2 errors 0" in proc.stdout
    else:
        assert proc.returncode != 0
        assert "extract_script.py line 5 starts worker processes" in proc.stderr
        assert 'if __name__ == "__main__":' in proc.stderr
        assert "bootstrapping" not in proc.stderr  # no worker was started


def test_top_features_say_in_how_many_training_folds_each_was_kept(tmp_path: Path) -> None:
    """The "selected in folds" column used to be empty: every rad-score fold model now
    records the columns it kept, and the top features give the share of folds."""
    import sys

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _synthetic import cohort

    from radiomix.analysis.data import build_table
    from radiomix.analysis.engine import run_analysis
    from radiomix.analysis.spec import analysis_from_dict

    feats, clin = cohort(40, signal=2.5)
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "excluded": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "rs", "blocks": ["radiomic"], "radiomic": ["*.stat.*"],
                  "model": "radscore"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 2, "bootstrap": 50}})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=True)
    o = doc["outcomes"][0]
    arm = o["validation"][0]["arms"]["rs"]
    n_folds = arm["n_folds"]
    assert n_folds == 6
    counts = arm["selected_in_folds"]
    assert counts
    assert all(1 <= c <= n_folds for c in counts.values())
    assert set(counts) <= {c for c in feats if ".stat." in c}
    # the two planted features are kept by every fold model
    assert counts["ct.original.stat.f00"] == counts["ct.original.stat.f01"] == n_folds
    for item in o["top_features"]["items"]:
        share = item["selection_frequency"]
        assert share == counts.get(item["column"], 0) / n_folds
        assert np.isclose(share * n_folds, round(share * n_folds))


def test_selected_names_are_the_nonzero_coefficients() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from radiomix.evaluate.validate import selected_names
    from radiomix.model.radscore import RadScore

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 8)), columns=[f"c{i}" for i in range(8)])
    y = (X["c0"] - X["c3"] + 0.3 * rng.normal(size=60) > 0).astype(int)
    pipe = Pipeline([("scale", StandardScaler().set_output(transform="pandas")),
                     ("rs", RadScore())]).fit(X, y)
    cf = pipe.named_steps["rs"].coefficients()
    want = [t for t, s in zip(cf["term"], cf["selected"], strict=True)
            if s and t != "(intercept)"]
    assert selected_names(pipe) == want
    assert {"c0", "c3"} <= set(want)
    assert selected_names(StandardScaler().fit(X)) is None


def test_table1_puts_a_categorical_missing_count_on_its_missing_row(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _synthetic import cohort

    from radiomix.analysis.data import build_table
    from radiomix.analysis.engine import run_analysis
    from radiomix.analysis.spec import analysis_from_dict

    feats, clin = cohort(30)
    clin.loc[[2, 5, 11], "grade"] = ""
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "covariates": [{"name": "grade", "kind": "ordinal",
                                  "levels": ["Low", "Intermediate", "High"]}],
                  "excluded": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "clin", "blocks": ["clinical"], "model": "logistic"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    rows = [r for r in doc["cohort"]["table1"]["rows"] if r["variable"] == "grade"]
    missing = {r["level"]: r["missing"] for r in rows}
    assert missing == {"Low": 0, "Intermediate": 0, "High": 0, "(missing)": 3}
    assert next(r for r in rows if r["level"] == "(missing)")["overall"].startswith("3 (")


def test_table_hash_follows_the_values_not_the_file(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from radiomix.table import file_hash, table_hash

    t = pd.DataFrame({"patient_id": ["a", "b"], "ct.original.stat.mean": [1.5, np.nan]})
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    t.to_parquet(one)
    t.attrs["radiomix"] = {"seconds": 1.23}  # what differs between two runs' files
    t.to_parquet(two)
    a, b = pd.read_parquet(one), pd.read_parquet(two)
    assert file_hash(one) != file_hash(two)
    assert table_hash(a) == table_hash(b)
    assert table_hash(a) != table_hash(a.assign(**{"ct.original.stat.mean": [1.5, 2.0]}))
    assert table_hash(a) != table_hash(a.rename(columns={"patient_id": "pid"}))


def test_model_keeps_the_untrained_deep_flag_of_a_run_table(tmp_path: Path, caplog) -> None:
    """``radiomix model`` on a ``radiomix run`` table whose deep features came from random
    weights flags the deep arms and shows the banner, as ``radiomix analyse`` does."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _synthetic import cohort

    from radiomix.analysis.adhoc import run_adhoc
    from radiomix.table import write_table

    feats, clin = cohort(36, signal=1.0)
    table = feats.assign(outcome=clin["outcome"].to_numpy())
    for weights, name, path in (("random", "rand", tmp_path / "features.parquet"),
                                ("imagenet", "pre", tmp_path / "features.parquet"),
                                # round 18: a CSV's sidecar was not read
                                ("random", "rand_csv", tmp_path / "features.csv")):
        write_table(table.to_dict("records"), path,
                    provenance={"deep": {"requested": {"model": "resnet18", "weights": weights}}})
        caplog.clear()
        doc = run_adhoc(tmp_path / name, features=path, target="outcome", positive="mets",
                        arms="radiomics,deep,fused", outer=3, inner=2, repeats=1,
                        bootstrap=50, report=False)
        arms = doc["outcomes"][0]["arms"]
        flags = {k: a["untrained_deep"] for k, a in arms.items()}
        banner = any(b["title"] == "Untrained deep network" for b in doc.get("banners", []))
        said = "network with random weights" in caplog.text  # round 18: on the console
        if weights == "random":
            assert said
            assert flags["deep"]
            assert flags["fused"]
            assert not flags["radiomics"]
            assert banner
        else:
            assert not said
            assert not any(flags.values())
            assert not banner
