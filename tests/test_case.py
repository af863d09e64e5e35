"""The single loading path of a case (:func:`radiomix.case.load_case`).

The image keeps its stored pixel type until the processing chain crops it (no float64 copy
of the whole volume), the crop is converted exactly, and every part that reads a case
(extraction, stability perturbations) refuses a damaged case with the same messages.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.case import load_case
from radiomix.check import check_case
from radiomix.errors import AmbiguousLabelError, GeometryMismatchError, InputError
from radiomix.features.extract import compute_features
from radiomix.process.pipeline import process_case
from radiomix.settings import load_preset


def _write(arr: np.ndarray, path, spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0)) -> None:
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    sitk.WriteImage(img, str(path))


@pytest.fixture
def int16_case(tmp_path):
    rng = np.random.default_rng(3)
    image = rng.integers(-200, 300, size=(12, 30, 28)).astype(np.int16)
    z, y, x = np.mgrid[0:12, 0:30, 0:28]
    mask = (((x - 14) / 7.0) ** 2 + ((y - 15) / 8.0) ** 2 + ((z - 6) / 3.0) ** 2 <= 1)
    _write(image, tmp_path / "image.nii.gz")
    _write(mask.astype(np.uint8), tmp_path / "mask.nii.gz")
    return tmp_path / "image.nii.gz", tmp_path / "mask.nii.gz", image, mask


def test_stored_pixel_type_is_kept(int16_case):
    image_path, mask_path, image, mask = int16_case
    case = load_case(image_path, mask_path)
    assert case.image.array.dtype == np.int16
    assert case.image.to_sitk().GetPixelID() == sitk.sitkInt16
    np.testing.assert_array_equal(case.image.array, image)
    np.testing.assert_array_equal(case.mask.array > 0, mask)
    assert case.n_voxels == int(mask.sum())


def test_features_equal_those_of_the_float64_image(int16_case):
    """The crop's float64 conversion is exact: the same features as a case whose whole image
    was cast to float64 before the checks (the behaviour before the single path)."""
    image_path, mask_path, _, _ = int16_case
    settings = load_preset("ibsi-C")
    native = load_case(image_path, mask_path)
    as_float = sitk.Cast(sitk.ReadImage(str(image_path)), sitk.sitkFloat64)
    cast = check_case(as_float, sitk.ReadImage(str(mask_path)))
    a = compute_features(process_case(native, settings).context, settings)
    b = compute_features(process_case(cast, settings).context, settings)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-300, nan_ok=True), k


@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from(["uint8", "int16", "uint16", "int32", "float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_no_interpolation_crop_is_the_stored_values(dtype, seed):
    """Without interpolation the processed image is the stored voxels of the crop, as float64."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 200, size=(6, 9, 8)).astype(dtype)
    img = sitk.GetImageFromArray(arr)
    msk = np.zeros(arr.shape, dtype=np.uint8)
    msk[2:4, 3:6, 2:5] = 1
    m = sitk.GetImageFromArray(msk)
    case = check_case(img, m)
    settings = load_preset("ibsi-A")
    ctx = process_case(case, settings).context
    assert ctx.image.dtype == np.float64
    sel = arr.astype(np.float64)[msk > 0]
    np.testing.assert_array_equal(np.sort(ctx.image[ctx.morph_mask]), np.sort(sel))


def test_complex_image_is_refused():
    img = sitk.GetImageFromArray(np.ones((3, 4, 5), dtype=np.complex64))
    msk = sitk.GetImageFromArray(np.ones((3, 4, 5), dtype=np.uint8))
    with pytest.raises(InputError, match="real-valued"):
        check_case(img, msk, case_id="P1")


def test_geometry_and_label_errors_name_the_case(int16_case, tmp_path):
    image_path, _, _, mask = int16_case
    moved = tmp_path / "moved.nii.gz"
    _write(mask.astype(np.uint8), moved, origin=(5.0, 0.0, 0.0))
    with pytest.raises(GeometryMismatchError, match=r"^\[P7\] .*origin \(mm\)"):
        load_case(image_path, moved, case_id="P7")
    coded = tmp_path / "coded.nii.gz"
    _write(mask.astype(np.uint8) * 255, coded)
    with pytest.raises(AmbiguousLabelError, match="--label 255"):
        load_case(image_path, coded)
    assert load_case(image_path, coded, label=255).n_voxels == int(mask.sum())


def test_stability_refuses_what_extraction_refuses(tmp_path):
    """``radiomix stability`` reads its cases through the same path: a mask on a shifted grid
    and a 0/255 mask give extraction's messages (before, only a size difference was seen and
    the 0/255 mask was taken as it was), printed as they are (no markup, no emoji)."""
    import sys
    from pathlib import Path

    from typer.testing import CliRunner

    from radiomix.cli import app

    sys.path.insert(0, str(Path(__file__).parent))
    from test_stability_cli import write_synthetic_study

    study = write_synthetic_study(tmp_path / "s")
    m = sitk.ReadImage(str(tmp_path / "s" / "P0_mask.nii.gz"))
    m.SetOrigin((5.0, 0.0, 0.0))
    sitk.WriteImage(m, str(tmp_path / "s" / "P0_mask.nii.gz"))
    m = sitk.ReadImage(str(tmp_path / "s" / "P1_mask.nii.gz"))
    coded = sitk.GetImageFromArray(sitk.GetArrayFromImage(m) * 255)
    coded.CopyInformation(m)
    sitk.WriteImage(coded, str(tmp_path / "s" / "P1_mask.nii.gz"))
    manifest = tmp_path / "s" / "manifest.csv"  # a patient id rich would read as markup
    manifest.write_text(manifest.read_text().replace("P0,", "P0[/x],", 1))
    result = CliRunner().invoke(
        app, ["stability", str(study), "--out", str(tmp_path / "o"), "-p", "original,volume:-1"]
    )
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert "P0[/x]/1/ct original: image and mask grids differ: origin (mm)" in text
    assert "P1/1/ct original: the mask <ct mask> is coded 0/255" in text
    assert "P0[/x]/1/ct volume:-1: image and mask grids differ" in text  # no emoji
    assert "Traceback" not in text


def test_messages_are_printed_as_given(int16_case, tmp_path):
    """File names reach the terminal unchanged: rich markup in a name (``[/x]`` ends a tag,
    which crashed the console; ``[bold]`` vanished) and emoji codes are not read."""
    import subprocess
    import sys

    image_path, _, _, _ = int16_case
    missing = tmp_path / "mask [bold]:-1:[/x].nii.gz"
    proc = subprocess.run(
        [sys.executable, "-c", "from radiomix.cli import main; main()", "extract",
         str(image_path), str(missing), "--out", str(tmp_path / "o.csv")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "mask [bold]:-1:[/x].nii.gz" in " ".join(proc.stderr.split())


def test_extract_holds_no_loaded_case_while_features_are_computed(int16_case, monkeypatch):
    """The loaded (cropped, checked) arrays are released before the features are computed:
    on a large ROI they would stay resident through the feature families' own peak (the
    Moran's I transforms), about 13 MiB of STS_020's 300 MiB peak."""
    import gc
    import weakref

    import radiomix.extraction as extraction

    loaded: list[weakref.ref] = []
    alive: list[bool] = []
    load, compute = extraction.load_case, extraction.compute_features

    def load_probe(*args, **kwargs):
        case = load(*args, **kwargs)
        loaded.append(weakref.ref(case.image.array))  # the loaded (cropped) image
        return case

    def compute_probe(*args, **kwargs):
        gc.collect()
        alive.append(loaded[-1]() is not None)
        return compute(*args, **kwargs)

    monkeypatch.setattr(extraction, "load_case", load_probe)
    monkeypatch.setattr(extraction, "compute_features", compute_probe)
    image, mask, _, _ = int16_case
    result = extraction.extract(image, mask, settings=load_preset("ibsi-C"))
    assert alive == [False]
    assert result.provenance["roi_voxels"] == int(int16_case[3].sum())
