"""The top-level Python API (radiomix.extract, extract_many, load_settings, features).

Oracles: the command line's table for the same case (the CLI is the reference the API must
match), SimpleITK's own index-to-physical mapping for array geometry, and the feature
registry / preset files for settings and ``features()``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import radiomix
from _data import require_data
from radiomix.errors import InputError, SettingsError
from radiomix.settings import PRESETS, load_preset

runner = CliRunner()
RTOL = 1e-12  # same computation on the same voxels; not asserted bit-equal


def _assert_same_row(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col].iloc[0], b[col].iloc[0]
        if isinstance(x, str) or isinstance(y, str):
            assert x == y, col
        else:
            np.testing.assert_allclose(float(x), float(y), rtol=RTOL, atol=0, err_msg=col)


# ---------------------------------------------------------------------------- import


def test_import_is_light():
    code = (
        "import sys, radiomix; "
        "print(sorted(m for m in ('numpy', 'pandas', 'torch', 'dask', 'SimpleITK', 'numba', "
        "'monai', 'sklearn') if m in sys.modules)); print(radiomix.__version__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    from importlib.metadata import version

    assert out[1] == version("radiomix")


def test_reading_a_study_with_deep_features_imports_no_model_stack():
    """A run plans its cases (reads the study, its ``deep:`` section and the deep settings)
    before it starts its workers: scikit-learn, pandas and torch are left to them (importing
    scikit-learn through ``radiomix.model`` held the fork server back by a second)."""
    study = Path(__file__).resolve().parents[1] / "examples" / "sts" / "study.yaml"
    code = (
        "import sys, radiomix.deep, radiomix.deep.settings; "
        "from radiomix.settings.study import load_study; "
        f"s = load_study({str(study)!r}); "
        "print(sorted(m for m in ('sklearn', 'pandas', 'torch', 'monai', 'radiomix.model') "
        "if m in sys.modules), s.settings.deep.model)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["[]", "resnet18"]


def test_console_script_module_is_light():
    """Workers started by spawn or a fork server run the main script again (as
    ``__mp_main__``): the ``radiomix`` script's module imports no command line."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "radiomix"]
    assert script.value == "radiomix.__main__:main"
    code = (
        "import sys, radiomix.__main__; "
        "print(sorted(m for m in ('radiomix.cli', 'typer', 'rich', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    version = subprocess.run([sys.executable, "-m", "radiomix", "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"radiomix {radiomix.__version__}"


def test_console_script_freezes_the_heap_before_the_process_ends(monkeypatch):
    """The interpreter's collections at exit do not walk what a command leaves: the
    console script freezes it as the command returns, by an error or an exit code too."""
    import gc

    from radiomix.__main__ import main

    monkeypatch.setattr(sys, "argv", ["radiomix", "--version"])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit):
            main()
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_extraction_stack_leaves_scipy_ndimage_to_the_steps_that_need_it():
    """``scipy.ndimage`` (0.1 s of every worker's start) is imported by a spline
    interpolation or a peritumoral ring, not by importing the extraction stack or the ring
    module; computing a ring's distances does."""
    code = (
        "import sys, numpy as np, radiomix.extraction\n"
        "a = 'scipy.ndimage' in sys.modules\n"
        "from radiomix.process.peritumoral import distance_to_roi\n"
        "b = 'scipy.ndimage' in sys.modules\n"
        "m = np.zeros((5, 5, 5), bool); m[2, 2, 2] = True\n"
        "d = distance_to_roi(m, spacing=(1.0, 1.0, 1.0))\n"
        "print(a, b, 'scipy.ndimage' in sys.modules, d[2, 2, 4])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True", "2.0"]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'extrakt'"):
        radiomix.extrakt  # noqa: B018


# ---------------------------------------------------------------------------- settings


@pytest.mark.parametrize("name", PRESETS)
def test_load_settings_round_trips_every_preset(name):
    # an override that changes nothing goes through settings_to_dict -> settings_from_dict
    assert radiomix.load_settings(name, features__seed=0) == load_preset(name)


def test_load_settings_step_mapping_replaces_the_step_and_dunder_keys_change_one_key():
    s = radiomix.load_settings(
        "ibsi-C", discretisation={"method": "fbn", "bins": 16}, interpolation__spacing=(1, 1, 1)
    )
    assert (s.discretisation.method, s.discretisation.bins) == ("fbn", 16)
    assert s.discretisation.bin_width is None  # the preset's 25 HU went with the step
    assert s.interpolation.spacing == (1.0, 1.0, 1.0)
    assert s.interpolation.round_intensities is True  # kept from the preset
    assert s.resegmentation.range == (-1000.0, 400.0)


def test_load_settings_defaults_are_the_cli_defaults():
    from radiomix.settings import ExtractionSettings

    s = radiomix.load_settings()
    assert s == ExtractionSettings()
    assert s.interpolation.spacing is None
    assert s.resegmentation.range is None
    assert (s.discretisation.method, s.discretisation.bins) == ("fbn", 32)


def test_load_settings_from_mapping_and_file(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("discretisation: {method: fbs, bin_width: 10}\n", encoding="utf-8")
    assert radiomix.load_settings(f) == radiomix.load_settings(
        {"discretisation": {"method": "fbs", "bin_width": 10}}
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"discretisaton__bins": 4}, "did you mean 'discretisation'"),
        ({"discretisation__binz": 4}, "did you mean 'bins'"),
        ({"dimensionality__x": 1}, "single value, not a group"),
        ({"discretisation": {"method": "fbn", "bins": 0}}, "bins must be an integer >= 1"),
    ],
)
def test_load_settings_refuses_bad_overrides(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        radiomix.load_settings("ibsi-C", **kwargs)


@settings(max_examples=25, deadline=None)
@given(w=st.floats(min_value=0.01, max_value=500, allow_nan=False))
def test_bin_width_override_is_kept_exactly(w):
    s = radiomix.load_settings("ibsi-C", discretisation__bin_width=w)
    assert s.discretisation.bin_width == w
    assert s.discretisation.method == "fbs"


# ---------------------------------------------------------------------------- registry


def test_features_table_is_the_registry():
    from radiomix.features import all_features

    table = radiomix.features()
    specs = all_features()
    assert list(table["name"]) == [s.name for s in specs]
    by_name = table.set_index("name")
    assert by_name.loc["stat.kurtosis", "ibsi"] == "IPH6"
    assert by_name.loc["glcm.joint_max", "family_code"] == "LFYI"
    assert pd.isna(by_name.loc["stat.standard_deviation", "ibsi"])
    assert by_name.loc["glszm.zone_percentage", "aggregations"] == ("2d", "2p5d", "3d")


def test_features_is_also_the_package():
    import radiomix.features as package

    assert callable(radiomix.features)
    assert package.all_features()[0].name == radiomix.features()["name"].iloc[0]


# ---------------------------------------------------------------------------- one case


@pytest.fixture(scope="module")
def ct_phantom():
    folder = require_data("ibsi1", "ct_phantom", "nifti")
    return folder / "image.nii.gz", folder / "mask.nii.gz"


@pytest.fixture(scope="module")
def cli_row(ct_phantom, tmp_path_factory):
    from radiomix.cli import app
    from radiomix.table import read_provenance

    out = tmp_path_factory.mktemp("cli") / "f.parquet"
    image, mask = ct_phantom
    res = runner.invoke(
        app,
        ["extract", str(image), str(mask), "--preset", "ibsi-C", "--tag", "ct", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    return pd.read_parquet(out), read_provenance(out)


def test_extract_paths_equal_cli(ct_phantom, cli_row):
    image, mask = ct_phantom
    df = radiomix.extract(image, mask, "ibsi-C", tag="ct")
    assert df.shape[0] == 1
    _assert_same_row(df, cli_row[0])
    prov = df.attrs["provenance"]
    assert prov["settings_hash"] == cli_row[1]["settings_hash"]
    assert prov["inputs"]["image_sha256"] == cli_row[1]["inputs"]["image_sha256"]
    assert prov["inputs"]["image_source"] == "file"


def test_extract_simpleitk_images_equal_cli(ct_phantom, cli_row):
    image, mask = ct_phantom
    img, msk = sitk.ReadImage(str(image)), sitk.ReadImage(str(mask))
    df = radiomix.extract(img, msk, settings="ibsi-C", tag="ct")
    _assert_same_row(df, cli_row[0])
    inputs = df.attrs["provenance"]["inputs"]
    assert inputs["image_source"] == "SimpleITK image"
    assert len(inputs["image_sha256"]) == 64


def test_extract_numpy_arrays_equal_cli(ct_phantom, cli_row):
    image, mask = ct_phantom
    img = sitk.ReadImage(str(image))
    arr, marr = sitk.GetArrayFromImage(img), sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    before = arr.copy()
    img.SetMetaData("PatientName", "Doe^Jane")  # a header tag must not reach any output
    spacing = img.GetSpacing()[::-1]
    origin = img.GetOrigin()[::-1]
    df = radiomix.extract(arr, marr, "ibsi-C", spacing=spacing, origin=origin, tag="ct")
    _assert_same_row(df, cli_row[0])
    np.testing.assert_array_equal(arr, before)  # the caller's array is not modified
    with_tag = radiomix.extract(img, sitk.ReadImage(str(mask)), "ibsi-C", tag="ct")
    _assert_same_row(with_tag, cli_row[0])
    assert "Doe" not in repr(with_tag.attrs["provenance"])
    assert img.GetMetaData("PatientName") == "Doe^Jane"  # the caller's image keeps it
    # a bool mask array takes the SimpleITK image's geometry
    df2 = radiomix.extract(img, marr.astype(bool), "ibsi-C", tag="ct")
    _assert_same_row(df2, cli_row[0])


def test_extract_overrides_change_the_settings(ct_phantom):
    image, mask = ct_phantom
    df = radiomix.extract(
        image, mask, "ibsi-C", tag="ct", case_id="P1", features__families=["stat"]
    )
    assert df.loc[0, "case_id"] == "P1"
    feats = [c for c in df.columns if c.startswith("ct.")]
    assert feats
    assert all(c.startswith("ct.original.stat.") for c in feats)
    assert df.attrs["provenance"]["settings"]["features"]["families"] == ["stat"]


def _rotated_image() -> sitk.Image:
    img = sitk.GetImageFromArray(np.arange(60, dtype=np.float64).reshape(3, 4, 5))
    img.SetSpacing((0.7, 1.1, 2.5))
    img.SetOrigin((-10.0, 3.0, 7.5))
    th = np.deg2rad(30)
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    img.SetDirection(tuple(rot.ravel()))
    return img


def test_array_geometry_is_zyx():
    from radiomix.api import _array_image

    ref = _rotated_image()
    d_xyz = np.array(ref.GetDirection()).reshape(3, 3)
    d_zyx = d_xyz[::-1, ::-1]
    arr = sitk.GetArrayFromImage(ref)
    built = _array_image(
        arr, "image", ref.GetSpacing()[::-1], ref.GetOrigin()[::-1], d_zyx, reference=None
    )
    # every corner maps to the same physical point (SimpleITK's own mapping as oracle)
    for idx in [(0, 0, 0), (4, 0, 0), (0, 3, 0), (0, 0, 2), (4, 3, 2)]:
        np.testing.assert_allclose(
            built.TransformIndexToPhysicalPoint(idx), ref.TransformIndexToPhysicalPoint(idx)
        )


@pytest.mark.parametrize(
    ("image", "mask", "kwargs", "match"),
    [
        (np.zeros((4, 4, 4)), np.ones((4, 4, 4), np.uint8), {}, "pass spacing=\\(z, y, x\\)"),
        (np.zeros((4, 4)), np.ones((4, 4), np.uint8), {"spacing": (1, 1, 1)}, "array\\[None\\]"),
        (np.zeros((4, 4, 4)), np.ones((4, 4, 4)), {"spacing": (1, 0, 1)}, "numbers > 0"),
        (np.zeros((4, 4, 4)), np.ones((4, 4, 4)), {"spacing": (1, 1)}, "numbers > 0"),
        (
            np.zeros((4, 4, 4)),
            np.ones((4, 4, 4)),
            {"spacing": (1, 1, 1), "direction": np.ones((3, 3))},
            "orthonormal",
        ),
        ([[0.0]], np.ones((4, 4, 4)), {}, "file path, a SimpleITK.Image or a numpy array"),
        (np.zeros((4, 4, 4), complex), np.ones((4, 4, 4)), {"spacing": (1, 1, 1)}, "dtype"),
    ],
)
def test_extract_bad_inputs_are_one_line_input_errors(image, mask, kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        radiomix.extract(image, mask, **kwargs)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------- many cases


@pytest.fixture
def cases_dir(tmp_path):
    folder = require_data("ibsi1", "digital_phantom")
    for name in ("image.nii.gz", "mask.nii.gz"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path


FAST = {"features__families": ["stat", "ih"]}


def test_extract_many_csv_rows_equal_single_extracts(cases_dir):
    (cases_dir / "cases.csv").write_text(
        "case_id,image,mask,note\n"
        "007,image.nii.gz,mask.nii.gz,x\n"
        "B,image.nii.gz,missing.nii.gz,y\n"
        "C,image.nii.gz,mask.nii.gz,z\n",
        encoding="utf-8",
    )
    events = []
    df = radiomix.extract_many(
        cases_dir / "cases.csv", "ibsi-digital", progress=events.append, **FAST
    )
    assert list(df["case_id"]) == ["007", "C"]  # table order (an empty id cell is refused)
    single = radiomix.extract(
        cases_dir / "image.nii.gz", cases_dir / "mask.nii.gz", "ibsi-digital", **FAST
    )
    feats = [c for c in single.columns if c.startswith("image.")]
    _assert_same_row(df.loc[[0], feats].reset_index(drop=True), single[feats])
    assert "note" not in df.columns
    (err,) = df.attrs["errors"]
    assert err["case_id"] == "B"
    assert "mask not found" in err["message"]
    prov = df.attrs["provenance"]
    assert prov["settings_hash"] == single.attrs["provenance"]["settings_hash"]
    assert [c["case_id"] for c in prov["cases"]] == ["007", "C"]
    assert [e.event for e in events] == ["start", "case", "case", "case"]
    assert [e.done for e in events] == [0, 1, 2, 3]
    assert events[-1].failed == 1
    assert events[-1].total == 3


def test_extract_many_dataframe_with_labels_and_raise(cases_dir):
    table = pd.DataFrame(
        {
            "image": ["image.nii.gz", "image.nii.gz"],
            "mask": ["mask.nii.gz", "mask.nii.gz"],
            "label": [1, 7],
        }
    )
    df = radiomix.extract_many(table, "ibsi-digital", base_dir=cases_dir, **FAST)
    assert list(df["label"]) == [1]
    assert df.attrs["errors"][0]["label"] == 7
    from radiomix.errors import LabelNotFoundError

    # the case's own error class, its id once (it was a plain InputError naming the class)
    with pytest.raises(LabelNotFoundError, match=r"^\[1\] label 7 not found") as err:
        radiomix.extract_many(table, "ibsi-digital", base_dir=cases_dir, errors="raise", **FAST)
    assert str(err.value).count("[1] ") == 1


@pytest.mark.slow  # spawning 2 workers takes ~15 s on a loaded 2-core machine
def test_extract_many_process_pool_equals_serial(cases_dir):
    table = pd.DataFrame({"image": ["image.nii.gz"] * 2, "mask": ["mask.nii.gz"] * 2})
    serial = radiomix.extract_many(table, "ibsi-digital", base_dir=cases_dir, **FAST)
    pooled = radiomix.extract_many(table, "ibsi-digital", base_dir=cases_dir, n_jobs=2, **FAST)
    pd.testing.assert_frame_equal(serial, pooled, rtol=RTOL)


@pytest.mark.parametrize(
    ("csv", "match"),
    [
        ("img,mask\na,b\n", "needs the columns image and mask.*missing image"),
        ("image,mask\n", "has no rows"),
        ("image,mask,label\na,b,x\n", "label 'x' is not an integer"),
        ("image,mask,label\na,b,1.5\n", "label '1.5' is not an integer"),
        ("image,mask\na,\n", "line 2: the mask cell is empty"),
        ("image,mask,case_id\na,b,P\nc,d,P\n", "'P' appears twice"),
    ],
)
def test_extract_many_bad_tables(tmp_path, csv, match):
    path = tmp_path / "cases.csv"
    path.write_text(csv, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        radiomix.extract_many(path)


def test_extract_many_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="cases table not found"):
        radiomix.extract_many(tmp_path / "nope.csv")
    with pytest.raises(SettingsError, match="n_jobs must be an integer >= 1"):
        radiomix.extract_many(tmp_path / "nope.csv", n_jobs=0)
    with pytest.raises(SettingsError, match="errors must be"):
        radiomix.extract_many(tmp_path / "nope.csv", errors="ignore")
