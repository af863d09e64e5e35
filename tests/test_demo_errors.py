"""Bad options and missing inputs of the demo, and the deep-weights fallback of a study."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from radiomix.demo import choose_patients, run_demo, write_demo_study
from radiomix.errors import InputError, SettingsError
from radiomix.settings.study import load_study


def _rows(n: int = 20) -> list[dict[str, str]]:
    return [{"patient_id": f"P{i:02d}", "lung_mets": "1" if i % 3 == 0 else "0"}
            for i in range(n)]


def test_choose_patients_keeps_both_classes() -> None:
    rows = _rows()
    chosen = choose_patients(rows, 9)
    assert len(chosen) == 9
    labels = {r["patient_id"]: r["lung_mets"] for r in rows}
    # 7 of 20 have the event: round(9 * 7 / 20) = 3 events, 6 without
    assert sum(labels[p] == "1" for p in chosen) == 3
    assert chosen == sorted(chosen)
    assert choose_patients(rows, None) == [r["patient_id"] for r in rows]
    assert choose_patients(rows, 50) == [r["patient_id"] for r in rows]


@pytest.mark.parametrize("n", [3, 0, 5.5, True])
def test_choose_patients_refuses_bad_counts(n) -> None:
    with pytest.raises(SettingsError, match="patients must be an integer >= 6"):
        choose_patients(_rows(), n)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_run_demo_refuses_bad_jobs(tmp_path: Path, jobs) -> None:
    with pytest.raises(SettingsError, match="jobs must be an integer >= 1"):
        run_demo(tmp_path, jobs=jobs, data_dir=tmp_path)


def test_run_demo_without_cohort_names_the_missing_images(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"data folder .* does not exist"):
        run_demo(tmp_path / "out", data_dir=tmp_path, quick=True)


def test_quick_study_is_the_example_with_fewer_patients_and_folds(tmp_path: Path,
                                                                   shared_data: Path) -> None:
    path = write_demo_study(tmp_path, shared_data, patients=12, quick=True, seed=7)
    doc = yaml.safe_load(path.read_text())
    example = yaml.safe_load((Path(__file__).parents[1] / "examples" / "sts" / "study.yaml")
                             .read_text())
    assert doc["analysis"]["arms"] == example["analysis"]["arms"]
    assert doc["analysis"]["outcomes"] == example["analysis"]["outcomes"]
    assert doc["analysis"]["validation"]["seed"] == 7
    assert doc["analysis"]["validation"]["repeats"] == 1
    study = load_study(path)
    assert len((tmp_path / "study" / "manifest.csv").read_text().splitlines()) == 13
    assert study.settings.analysis is not None


def test_missing_imagenet_file_falls_back_to_random_only_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "cache"))  # an empty cache
    (tmp_path / "m.csv").write_text("patient_id,lesion_id,ct_image,ct_mask\n")
    base = {"manifest": "m.csv", "tags": {"ct": {"preset": "ibsi-C"}}}
    why = {}
    for fallback, expected in (("random", "random"), ("none", "imagenet")):
        study = dict(base, deep={"model": "resnet18", "mode": "2.5d", "weights": "imagenet",
                                 "fallback": fallback})
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
        with caplog.at_level("WARNING"):
            loaded = load_study(tmp_path / "s.yaml")
        assert loaded.settings.deep.weights == expected
        why[fallback] = loaded.weights_fallback
    # the reason is kept for the commands that compute deep features (run, analyse, demo)
    # to warn; loading the study (stability, standardise) prints nothing
    assert "resnet18-f37072fd.pth" in why["random"]
    assert "untrained" in why["random"]
    assert len(why["random"]) < 400  # one short line, not the whole download advice
    assert why["none"] is None
    assert "untrained" not in caplog.text


@pytest.mark.parametrize(("patients", "outer", "inner"), [(6, 3, 2), (8, 5, 3), (None, 5, 3)])
def test_the_demo_folds_fit_the_chosen_patients(tmp_path, shared_data, patients, outer, inner):
    """Round 17: `radiomix demo --patients 6` (the least the command allows) crashed in a
    worker with scikit-learn's "n_splits=5 cannot be greater than the number of members in
    each class": 3 patients of each class make no 5 stratified folds."""
    path = write_demo_study(tmp_path, shared_data, patients=patients, quick=False, seed=0)
    validation = yaml.safe_load(path.read_text())["analysis"]["validation"]
    assert (validation["outer_splits"], validation["inner_splits"]) == (outer, inner)
