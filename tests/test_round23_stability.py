"""Round 23: perturbation robustness and ComBat findings of an outside tester.

Contour supervoxels independent of the voxel size in mm, rotations modulo 360 degrees,
perturbation values in any float spelling, ICC(1,1) at numerical extremes, refusals by
design told apart from missing images, and ComBat's refusal of infinite values.
"""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from _data import require_data
from radiomix.errors import InputError, SettingsError
from radiomix.process.perturb import parse_perturbation, perturb_case, sitk_array, supervoxels
from radiomix.stability import feature_icc, icc11, parse_perturbations, stable_counts

# --------------------------------------------------------------------------- 1. contours


def _sphere(shape=(24, 24, 24), radius=3.3, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A bright ~150-voxel sphere in noise."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.indices(shape)
    c = np.asarray(shape) / 2
    roi = np.sqrt((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) <= radius
    img = np.where(roi, 10.0, 1.0) + rng.normal(0, 0.3, shape)
    return img, roi


def _pair(img: np.ndarray, roi: np.ndarray, spacing_zyx) -> tuple[sitk.Image, sitk.Image]:
    image = sitk.GetImageFromArray(img.astype(np.float32))
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))
    for im in (image, mask):
        im.SetSpacing(tuple(float(v) for v in spacing_zyx[::-1]))
    return image, mask


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


@pytest.mark.parametrize(
    ("spacing", "factor"),
    [((1.0, 1.0, 1.0), 4.69), ((3.27, 4.69, 4.69), 0.2), ((2.0, 0.8, 0.8), 3.0)],
)
def test_supervoxels_do_not_depend_on_the_voxel_size_in_mm(spacing, factor):
    """The same voxels on a uniformly rescaled grid give the same supervoxels (SLIC weighs
    its spatial term by the spacing it is given: millimetres made them depend on it)."""
    img, roi = _sphere()
    box_a, labels_a, frac_a = supervoxels(img, roi, spacing)
    box_b, labels_b, frac_b = supervoxels(img, roi, tuple(factor * s for s in spacing))
    assert box_a == box_b
    np.testing.assert_array_equal(labels_a, labels_b)
    np.testing.assert_array_equal(frac_a, frac_b)


def test_contour_draws_follow_a_sphere_at_any_voxel_size():
    """The tester's sphere: Dice 1.000 at 1 mm, 0.833 at 4.69 mm before; now the same draws."""
    img, roi = _sphere()
    masks = {}
    for size in (1.0, 4.69):
        image, mask = _pair(img, roi, (size,) * 3)
        cache: dict[str, object] = {}
        masks[size] = [
            sitk_array(perturb_case(image, mask, f"contour:{k}", seed=0, case="s",
                                    cache=cache)[1]) > 0
            for k in range(1, 11)
        ]
    for a, b in zip(masks[1.0], masks[4.69], strict=True):
        np.testing.assert_array_equal(a, b)
    assert min(_dice(m, roi) for m in masks[4.69]) > 0.95


def test_contour_draws_on_coarse_pet_overlap_the_tumour():
    """STS_019 PET (4.69 x 4.69 x 3.27 mm voxels): the draws overlapped the tumour with a
    mean Dice of 0.146 when SLIC got the spacing in mm; with relative spacing about 0.58."""
    folder = require_data("sts", "nifti", "STS_019", "pet")
    image = sitk.ReadImage(str(folder / "image.nii.gz"))
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"))
    roi = sitk.GetArrayFromImage(mask) > 0
    cache: dict[str, object] = {}
    dice = [
        _dice(sitk_array(perturb_case(image, mask, f"contour:{k}", seed=0, case="STS_019",
                                      cache=cache)[1]) > 0, roi)
        for k in range(1, 21)
    ]
    assert np.mean(dice) > 0.45, dice
    assert np.min(dice) > 0.2, dice


# --------------------------------------------------------------------------- 4, 5. specs


@pytest.mark.parametrize("spec", ["rotation:360", "rotation:-360", "rotation:720",
                                  "rotation:3.6e2", "rotation:+1080.0"])
def test_a_rotation_by_full_turns_is_the_identity(spec):
    with pytest.raises(SettingsError, match=r"is the identity.*modulo 360.*original"):
        parse_perturbation(spec)
    with pytest.raises(SettingsError, match="is the identity"):
        parse_perturbations(f"original,{spec}")


@pytest.mark.parametrize(
    "specs",
    ["original,rotation:5,rotation:365", "original,rotation:5,rotation:-355",
     "original,rotation:-5,rotation:715", "original,rotation:5,rotation:5.0"],
)
def test_rotations_equal_modulo_360_are_duplicates(specs):
    with pytest.raises(SettingsError, match=r"repeat|same rotation"):
        parse_perturbations(specs)


def test_distinct_rotations_pass():
    parsed = parse_perturbations("original,rotation:5,rotation:-5,rotation:185")
    assert [p.spec for p in parsed] == ["original", "rotation:+5", "rotation:-5",
                                        "rotation:+185"]


@pytest.mark.parametrize(
    ("spec", "value"),
    [("rotation:1e6", 1e6), ("rotation:1000000", 1e6), ("noise:1e-3", 1e-3),
     ("translation:1e-1", 0.1), ("volume:-1.5E0", -1.5), ("noise:.5", 0.5),
     ("rotation:+5.", 5.0), ("volume:+2", 2.0), ("contour:2e0", 2.0)],
)
def test_any_float_spelling_parses_and_round_trips(spec, value):
    p = parse_perturbation(spec)
    assert p.value == value
    again = parse_perturbation(p.spec)
    assert (again.value, again.spec, again.slug) == (p.value, p.spec, p.slug)
    assert re.fullmatch(r"[A-Za-z0-9_]+", p.slug), p.slug  # file- and identifier-safe


@pytest.mark.parametrize("spec", ["noise:inf", "volume:nan", "rotation:1e400", "volume:abc",
                                  "noise:", "rotation:0x10", "noise:1_0"])
def test_a_value_that_is_not_a_finite_number_is_refused(spec):
    with pytest.raises(SettingsError, match="needs a finite number after ':'"):
        parse_perturbation(spec)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["volume", "rotation", "translation", "noise"]),
    value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
    spelling=st.sampled_from(["{!r}", "{:g}", "{:.17e}", "{:+.17g}"]),
)
def test_canonical_specs_parse_back_to_the_same_value(kind, value, spelling):
    """canonical(parse(x)) parses to the same value: rotation:1000000 was canonicalised as
    rotation:+1e+06, which the parser then refused."""
    text = f"{kind}:{spelling.format(value)}"
    refusal = ""
    try:
        p = parse_perturbation(text)
    except SettingsError as exc:  # out of the kind's range: refused for that reason only
        refusal = str(exc)
    assert "needs a finite number" not in refusal, text
    if refusal:
        return
    assert p.value == float(spelling.format(value))
    again = parse_perturbation(p.spec)
    assert (again.value, again.spec, again.slug) == (p.value, p.spec, p.slug)


# --------------------------------------------------------------------------- 6. ICC


def _pingouin_icc1(wide: np.ndarray) -> tuple[float, float, float]:
    import pingouin as pg

    n, k = wide.shape
    long = pd.DataFrame({"lesion": np.repeat([f"L{i}" for i in range(n)], k),
                         "perturbation": np.tile([f"p{j}" for j in range(k)], n),
                         "value": wide.ravel()})
    res = pg.intraclass_corr(long, targets="lesion", raters="perturbation", ratings="value")
    row = res[res.Type.isin(["ICC1", "ICC(1,1)"])].iloc[0]
    return float(row.ICC), float(row.CI95[0]), float(row.CI95[1])


def _exact_icc11(wide: np.ndarray) -> Fraction:
    """ICC(1,1) in exact rational arithmetic of the stored floats."""
    w = [[Fraction(float(x)) for x in row] for row in wide]
    n, k = len(w), len(w[0])
    grand = sum(map(sum, w)) / (n * k)
    means = [sum(r) / k for r in w]
    ms_r = k * sum((m - grand) ** 2 for m in means) / (n - 1)
    ms_w = sum((x - means[i]) ** 2 for i, r in enumerate(w) for x in r) / (n * (k - 1))
    return (ms_r - ms_w) / (ms_r + (k - 1) * ms_w)


@pytest.fixture(scope="module")
def base_table() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(0, 1, (20, 1)) + rng.normal(0, 0.3, (20, 4))


@pytest.mark.parametrize("scale", [1e-200, 1e-160, 1e-20, 1.0, 1e20, 1e160, 1e200, 1e300])
def test_icc_is_scale_free_and_matches_pingouin(base_table, scale):
    """x 1e-200 and x 1e160 returned (1, 1, 1) where the value is 0.920 [0.851, 0.963]."""
    ref = _pingouin_icc1(base_table)
    icc, lo, hi = icc11(base_table * scale)
    assert icc == pytest.approx(ref[0], abs=1e-10)
    assert lo == pytest.approx(ref[1], abs=0.005 + 1e-12)  # pingouin rounds its interval
    assert hi == pytest.approx(ref[2], abs=0.005 + 1e-12)
    assert (icc, lo, hi) == pytest.approx(icc11(base_table), rel=1e-9)


@pytest.mark.parametrize("offset", [0.0, 1e6, -3e9])
def test_icc_matches_exact_fractions(offset):
    table = np.array([[0.1, 0.7, 0.3], [2.5, 2.25, 3.0], [1.1, 0.9, 1.3], [4.0, 3.5, 3.75]])
    table = table + offset
    assert icc11(table)[0] == pytest.approx(float(_exact_icc11(table)), abs=1e-9)


def test_a_spread_of_rounding_size_is_constant():
    """0.3 and 0.30000000000000004 at random gave ICC 0.724 (exact 0.053): the values differ
    by rounding only, so the feature is constant, as a constant feature: NaN."""
    rng = np.random.default_rng(0)
    c = 0.1 + 0.2
    wide = np.full((20, 4), c)
    wide[rng.random((20, 4)) < 0.3] = np.nextafter(c, 1)
    assert np.ptp(wide) > 0
    assert all(np.isnan(v) for v in icc11(wide))
    # and a feature column of it is "not assessed", as a constant one
    n, k = wide.shape
    long = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(n)], k),
                         "source_lesion": "1",
                         "perturbation": np.tile([f"p{j}" for j in range(k)], n),
                         "ct.original.stat.mean": wide.ravel()})
    table = feature_icc(long)
    assert np.isnan(table.loc[0, "icc"])
    assert stable_counts(table)["n_assessed"].sum() == 0


def test_values_near_the_float_limit_give_the_scaled_icc():
    table = np.array([[1.0, -1.0], [0.5, -0.9], [0.1, 0.1]])
    with np.errstate(all="raise"):
        huge = icc11(table * 1e308)
    assert huge == pytest.approx(icc11(table), rel=1e-12)
    assert huge[0] == pytest.approx(float(_exact_icc11(table)), abs=1e-12)


def test_a_small_real_spread_is_still_assessed():
    """A relative spread of 1e-9, far above rounding, keeps its ICC."""
    rng = np.random.default_rng(1)
    wide = 1.0 + 1e-9 * (rng.normal(0, 1, (10, 1)) + rng.normal(0, 0.5, (10, 3)))
    assert icc11(wide)[0] == pytest.approx(float(_exact_icc11(wide)), abs=1e-6)


# --------------------------------------------------------------------------- 2, 3. ComBat


def _centres(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centre = np.repeat(["A", "B", "C"], 20)
    X = pd.DataFrame({"centre": centre})
    for g in range(4):
        shift = np.select([centre == "B", centre == "C"], [5.0, -3.0], 0.0)
        X[f"ct.original.stat.f{g}"] = rng.normal(0, 1, 60) + shift
    return X


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_combat_refuses_an_infinite_value_naming_the_column(value):
    """One inf cell left every feature unharmonised, logged as 'constant overall or within a
    centre' (false)."""
    from radiomix.model.harmonise import ComBatHarmoniser

    X = _centres()
    X.loc[3, "ct.original.stat.f2"] = value
    with pytest.raises(InputError, match=r"'ct\.original\.stat\.f2'.*infinite value.*finite"):
        ComBatHarmoniser(batch="centre").fit(X)
    h = ComBatHarmoniser(batch="centre").fit(_centres())
    with pytest.raises(InputError, match=r"'ct\.original\.stat\.f2'.*infinite value"):
        h.transform(X)


def test_combat_refuses_an_infinite_covariate():
    from radiomix.model.harmonise import ComBatHarmoniser

    X = _centres()
    X["age"] = np.linspace(40, 80, len(X))
    X.loc[5, "age"] = np.inf
    with pytest.raises(InputError, match=r"covariate column 'age'.*infinite value"):
        ComBatHarmoniser(batch="centre", covariates=["age"]).fit(X)


def test_combat_still_harmonises_around_a_missing_value():
    from radiomix.model.harmonise import ComBatHarmoniser

    X = _centres()
    X.loc[3, "ct.original.stat.f2"] = np.nan
    h = ComBatHarmoniser(batch="centre").fit(X)
    out = h.transform(X)
    assert h.passthrough_features_ == []
    assert np.isnan(out.loc[3, "ct.original.stat.f2"])
    gap = out.assign(c=X.centre).groupby("c")["ct.original.stat.f1"].mean()
    assert gap.max() - gap.min() < 0.5


def test_combat_docstring_states_neuroharmonize_limit_exactly():
    import radiomix.model.harmonise as harmonise

    text = " ".join((harmonise.__doc__ or "").split())
    assert "lacks some of the training sites" in text
    assert "on a subset of rows such as a test fold" not in text


# --------------------------------------------------------------------------- 7. CLI


def _write(folder: Path, name: str, array: np.ndarray, spacing_xyz) -> str:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing_xyz)
    sitk.WriteImage(image, str(folder / name))
    return name


def _two_tag_study(folder: Path, *, fine_pet_lesion: bool = False,
                   pet_missing: bool = False) -> Path:
    """Four lesions; tag ``ct`` at 1 x 1 x 2 mm, tag ``pet`` at 4 mm voxels (a 1 mm volume
    change moves none of them). ``fine_pet_lesion``: lesion P0's PET at 1 mm instead;
    ``pet_missing``: lesion P3 has no PET (both cells empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    rows = []
    for i, r in enumerate((4.0, 5.0, 6.0, 7.0)):
        row = {"patient_id": f"P{i}", "lesion_id": "1"}
        for tag, spacing in (("ct", (1.0, 1.0, 2.0)), ("pet", (4.0, 4.0, 4.0))):
            if tag == "pet" and fine_pet_lesion and i == 0:
                spacing = (1.0, 1.0, 1.0)
            if tag == "pet" and pet_missing and i == 3:
                row[f"{tag}_image"] = row[f"{tag}_mask"] = ""
                continue
            n = 28 if spacing[0] == 1.0 else 12
            z, y, x = np.mgrid[0:n, 0:n, 0:n].astype(float)
            c = (n - 1) / 2
            d = np.sqrt(((x - c) * spacing[0]) ** 2 + ((y - c) * spacing[1]) ** 2
                        + ((z - c) * spacing[2]) ** 2)
            mask = d <= r * (2.2 if spacing[0] == 4.0 else 1.0)
            image = np.where(mask, 60.0 + 7 * i, 10.0) + rng.normal(0, 4.0, mask.shape)
            row[f"{tag}_image"] = _write(folder, f"P{i}_{tag}_image.nii.gz",
                                         image.astype(np.float32), spacing)
            row[f"{tag}_mask"] = _write(folder, f"P{i}_{tag}_mask.nii.gz",
                                        mask.astype(np.uint8), spacing)
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    settings_block = {"dimensionality": "3d",
                      "discretisation": {"method": "fbs", "bin_width": 10.0},
                      "features": {"families": ["stat"]}}
    study = {"name": "refusals", "manifest": "manifest.csv",
             "tags": {"ct": {"settings": settings_block}, "pet": {"settings": settings_block}}}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def _run(study: Path, out: Path):
    from radiomix.cli import app

    return CliRunner().invoke(app, ["stability", str(study), "--out", str(out), "-p",
                                    "original,volume:-1,volume:+1,noise:1", "--quiet"])


def test_a_refusal_for_every_lesion_of_a_tag_is_said_and_is_not_a_failure(tmp_path, caplog):
    """PET volume:+-1 refused on every lesion: one line per perturbation and tag with the
    reason, no 'no image for some tag(s) ... fill the cells' advice, exit 0 (the table is
    complete: the refused perturbation is left out of the tag's ICCs)."""
    study = _two_tag_study(tmp_path / "study")
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        result = _run(study, tmp_path / "out")
    said = result.output + caplog.text
    assert result.exit_code == 0, said
    assert "have no image for some tag" not in said
    assert "fill the cells" not in said
    for spec in ("volume:-1", "volume:+1"):
        assert re.search(rf"perturbation {re.escape(spec)} refused for tag pet on 4 of 4 "
                         r"lesion\(s\).*no voxel centre lies within 1 mm", said), said
    table = pd.read_parquet(tmp_path / "out" / "stability.parquet")
    pet = table[table.tag == "pet"]
    assert (pet.n_lesions == 4).all()
    assert (pet.n_perturbations == 2).all()
    assert (table[table.tag == "ct"].n_perturbations == 4).all()
    from radiomix.table import read_provenance

    refused = read_provenance(tmp_path / "out" / "stability.parquet")["perturbations_refused"]
    assert len(refused) == 2
    assert all("refused for tag pet" in r for r in refused)


def test_a_refusal_for_some_lesions_of_a_tag_is_a_failure(tmp_path, caplog):
    """Refused on 3 of 4 PET lesions: those lesions leave the tag's ICCs: exit 1."""
    study = _two_tag_study(tmp_path / "study", fine_pet_lesion=True)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        result = _run(study, tmp_path / "out")
    said = result.output + caplog.text
    assert result.exit_code == 1, said
    assert "refused for tag pet on 3 of 4 lesion(s)" in said
    assert "these lesions are left out of the ICCs of pet's features" in said
    assert "have no image for some tag" not in said


def test_an_image_the_study_lacks_is_said_in_the_study_terms(tmp_path, caplog):
    study = _two_tag_study(tmp_path / "study", pet_missing=True)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        result = _run(study, tmp_path / "out")
    said = result.output + caplog.text
    assert "1 of 4 lesion(s) of the study have no image for some tag(s)" in said, said
    assert "P3/1 (pet)" in said
    assert "__" not in said.split("of the study have")[1][:80]
    assert "(both manifest cells empty)" not in said  # the derived study's note: unsaid
