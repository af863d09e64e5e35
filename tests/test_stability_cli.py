"""``radiomix stability`` end to end on a small synthetic study, with the ICC hand check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from scipy.stats import f as f_dist
from typer.testing import CliRunner

from radiomix.cli import app

SPACING_XYZ = (1.0, 1.0, 2.0)
RADII = (3.0, 4.0, 5.0, 6.5, 8.0)  # in-plane semi-axes (mm) of the five lesions
SETTINGS = {
    "dimensionality": "3d",
    "discretisation": {"method": "fbs", "bin_width": 25.0},
    "features": {"families": ["morph", "stat"]},
}


def write_synthetic_study(folder: Path) -> Path:
    """Five ellipsoidal lesions on noisy 24 x 40 x 40 images, spacing 1 x 1 x 2 mm."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    z, y, x = np.mgrid[0:24, 0:40, 0:40]
    rows = []
    for i, r in enumerate(RADII):
        mask = ((x - 20) / r) ** 2 + ((y - 20) / r) ** 2 + ((z - 12) * 2 / (r + 2)) ** 2 <= 1
        image = np.where(mask, 40.0 + 5 * i, -20.0) + rng.normal(0, 8.0, mask.shape)
        for arr, name in ((image.astype(np.float32), "image"), (mask.astype(np.uint8), "mask")):
            img = sitk.GetImageFromArray(arr)
            img.SetSpacing(SPACING_XYZ)
            sitk.WriteImage(img, str(folder / f"P{i}_{name}.nii.gz"))
        rows.append(
            {
                "patient_id": f"P{i}",
                "lesion_id": "1",
                "ct_image": f"P{i}_image.nii.gz",
                "ct_mask": f"P{i}_mask.nii.gz",
            }
        )
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    study = {
        "name": "synthetic",
        "manifest": "manifest.csv",
        "tags": {"ct": {"settings": SETTINGS}},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def icc11_anova(wide: np.ndarray) -> tuple[float, float, float]:
    """ICC(1,1) and its 95 % F interval from the one-way ANOVA (Shrout & Fleiss 1979, case 1).

    ``wide`` is (n lesions, k perturbations). Written independently of radiomix and pingouin.
    """
    n, k = wide.shape
    grand = wide.mean()
    ms_r = k * np.sum((wide.mean(axis=1) - grand) ** 2) / (n - 1)
    ms_w = np.sum((wide - wide.mean(axis=1, keepdims=True)) ** 2) / (n * (k - 1))
    icc = (ms_r - ms_w) / (ms_r + (k - 1) * ms_w)
    f_obs = ms_r / ms_w
    f_l = f_obs / f_dist.ppf(0.975, n - 1, n * (k - 1))
    f_u = f_obs * f_dist.ppf(0.975, n * (k - 1), n - 1)
    return icc, (f_l - 1) / (f_l + k - 1), (f_u - 1) / (f_u + k - 1)


@pytest.fixture(scope="module")
def stability_run(tmp_path_factory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("stab")
    study = write_synthetic_study(folder / "study")
    result = CliRunner().invoke(
        app,
        [
            "stability",
            str(study),
            "--out",
            str(folder / "out"),
            "--perturbations",
            "original,volume:-1,volume:+1",
        ],
    )
    return folder / "out", result


def test_cli_writes_stability_table(stability_run):
    out, result = stability_run
    assert result.exit_code == 0, result.output
    assert "Stable features" in result.output
    for drawn in ("perturbing", "extracting", "ETA"):  # no terminal: no progress output
        assert drawn not in result.output
    table = pd.read_parquet(out / "stability.parquet")
    assert set(table.family) == {"morph", "stat"}
    assert (table.icc_form == "ICC(1,1)").all()
    assert (table.n_lesions == len(RADII)).all() or table.icc.isna().any()
    features = pd.read_parquet(out / "extract" / "features.parquet")
    assert len(features) == len(RADII) * 3
    assert set(features.perturbation) == {"original", "volume:-1", "volume:+1"}


def test_hand_check_volume_icc(stability_run):
    """ICC of ct.original.morph.volume_voxels under +-1 mm growth: the table's value equals
    the one-way ANOVA formula on the same extracted values, and pingouin's own output."""
    import pingouin as pg

    out, _ = stability_run
    features = pd.read_parquet(out / "extract" / "features.parquet")
    col = "ct.original.morph.volume_voxels"
    wide = features.pivot(index="patient_id", columns="perturbation", values=col)
    icc, lo, hi = icc11_anova(wide.to_numpy())
    row = pd.read_parquet(out / "stability.parquet").set_index("feature").loc[col]
    assert row.icc == pytest.approx(icc, abs=1e-10)
    assert row.ci_low == pytest.approx(lo, abs=1e-10)
    assert row.ci_high == pytest.approx(hi, abs=1e-10)
    long = features[["patient_id", "perturbation", col]]
    res = pg.intraclass_corr(long, targets="patient_id", raters="perturbation", ratings=col)
    ref = (
        res.set_index("Type").loc["ICC(1,1)"]
        if "ICC(1,1)" in set(res.Type)
        else (res.set_index("Type").loc["ICC1"])
    )
    assert row.icc == pytest.approx(ref.ICC, abs=1e-10)
    assert row.ci_low == pytest.approx(ref.CI95[0], abs=0.005)  # pingouin rounds to 0.01


def test_grown_volumes_match_hand_count(stability_run):
    """The extracted voxel volumes are the perturbed masks' voxel counts x 2 mm^3, and
    growth/shrinkage move them in the right direction."""
    out, _ = stability_run
    features = pd.read_parquet(out / "extract" / "features.parquet")
    for _, r in features.iterrows():
        mask = sitk.GetArrayFromImage(
            sitk.ReadImage(
                str(
                    out
                    / "perturbed"
                    / r.patient_id
                    / "1"
                    / r.lesion_id.split("__")[1]
                    / "ct_mask.nii.gz"
                )
            )
        )
        assert r["ct.original.morph.volume_voxels"] == pytest.approx(mask.sum() * 2.0)
    wide = features.pivot(
        index="patient_id", columns="perturbation", values="ct.original.morph.volume_voxels"
    )
    assert (wide["volume:-1"] < wide["original"]).all()
    assert (wide["original"] < wide["volume:+1"]).all()


def test_rerun_resumes(stability_run, tmp_path):
    """A second run finds every perturbed file and every case current."""
    out, _ = stability_run
    before = {p: p.stat().st_mtime_ns for p in (out / "perturbed").rglob("*.nii.gz")}
    study = out.parent / "study" / "study.yaml"
    result = CliRunner().invoke(
        app, ["stability", str(study), "--out", str(out), "-p", "original,volume:-1,volume:+1"]
    )
    assert result.exit_code == 0, result.output
    after = {p: p.stat().st_mtime_ns for p in (out / "perturbed").rglob("*.nii.gz")}
    assert after == before


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["-p", "original"], "at least two perturbations"),
        (["-p", "original,volum:1"], "did you mean 'volume'"),
        (["--tags", "pet"], "tag 'pet' is not in the study"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, match):
    study = write_synthetic_study(tmp_path / "s")
    result = CliRunner().invoke(app, ["stability", str(study), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert match in " ".join(result.output.split())


def test_stability_table_provenance(stability_run):
    from radiomix.table import read_provenance

    out, _ = stability_run
    prov = read_provenance(out / "stability.parquet")
    assert prov["icc_form"] == "ICC(1,1)"
    assert prov["perturbations"] == ["original", "volume:-1", "volume:+1"]
    assert prov["seed"] == 0
    assert prov["perturbation_errors"] == []
    assert prov["derived_study"] == "study.yaml"  # relative: no absolute path is kept
    # the settings that define the features, per tag of the source study (an analysis
    # compares them with its feature table's)
    from radiomix.settings.study import load_study

    source = load_study(out.parent / "study" / "study.yaml")
    assert prov["tag_settings_hash"] == source.tag_hashes()


def test_two_workers_give_the_serial_table(stability_run, tmp_path):
    """Perturbations made by two preloaded worker processes: the same stability table."""
    out, _ = stability_run
    study = write_synthetic_study(tmp_path / "s")
    result = CliRunner().invoke(
        app, ["stability", str(study), "--out", str(tmp_path / "o"), "-q", "--jobs", "2",
              "--perturbations", "original,volume:-1,volume:+1"],
    )
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / "stability.parquet"),
                                  pd.read_parquet(out / "stability.parquet"))


def test_the_derived_study_keeps_each_tags_modality(tmp_path):
    """Round 16: the perturbed copies were extracted without the tag's declared modality,
    so the value checks of a PT or CT tag did not run on them."""
    from radiomix.stability import prepare_perturbed_study

    study = write_synthetic_study(tmp_path / "study")
    doc = yaml.safe_load(study.read_text())
    doc["tags"]["ct"]["modality"] = "MR"
    study.write_text(yaml.safe_dump(doc))
    derived, errors = prepare_perturbed_study(study, tmp_path / "out",
                                              perturbations="original,noise:1", patients=2)
    assert not errors
    assert yaml.safe_load(derived.read_text())["tags"]["ct"]["modality"] == "MR"
