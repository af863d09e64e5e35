"""Volume: voxels and geometry without SimpleITK, equal to SimpleITK's where it is used.

- ``from_sitk`` / ``to_sitk`` keep voxels, pixel type and geometry (ITK is the oracle);
- ``index_to_physical`` equals ITK's ``TransformContinuousIndexToPhysicalPoint`` bit for bit;
- extracting a NIfTI case (the API and the CLI) never imports SimpleITK, and gives the same
  features as the same case handed over as a SimpleITK image.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from _data import require_data
from radiomix.io.volume import Volume

unit = st.floats(-1.0, 1.0, allow_nan=False)


@st.composite
def images(draw: st.DrawFn) -> sitk.Image:
    dtype = draw(st.sampled_from([np.int16, np.uint8, np.float32, np.float64]))
    shape = draw(hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=5))
    array = draw(hnp.arrays(dtype, shape, elements={"allow_nan": False} if dtype in (
        np.float32, np.float64) else None))  # fmt: skip
    image = sitk.GetImageFromArray(array)
    noise = np.array([[draw(unit) for _ in range(3)] for _ in range(3)])
    q, _ = np.linalg.qr(noise + 2 * np.eye(3))
    image.SetDirection(tuple(q.ravel()))
    image.SetSpacing(tuple(draw(st.floats(0.1, 6.0)) for _ in range(3)))
    image.SetOrigin(tuple(draw(st.floats(-500.0, 500.0)) for _ in range(3)))
    return image


@settings(max_examples=150, deadline=None)
@given(images(), st.tuples(*(st.floats(-5.0, 80.0) for _ in range(3))))
def test_volume_matches_simpleitk(image: sitk.Image, index: tuple[float, float, float]) -> None:
    vol = Volume.from_sitk(image)
    assert vol.size == image.GetSize()
    assert vol.spacing == image.GetSpacing()
    # the array's axes (z, y, x) are SimpleITK's (x, y, z) reversed
    assert vol.spacing_zyx == tuple(reversed(image.GetSpacing()))
    assert vol.array.shape == tuple(reversed(image.GetSize()))
    assert vol.origin == image.GetOrigin()
    assert vol.direction == image.GetDirection()
    assert vol.index_to_physical(index) == image.TransformContinuousIndexToPhysicalPoint(index)
    # a copy made from the array and geometry is the same image
    again = Volume(vol.array.copy(), vol.spacing, vol.origin, vol.direction).to_sitk()
    assert again.GetPixelID() == image.GetPixelID()
    assert (again.GetSpacing(), again.GetOrigin(), again.GetDirection()) == (
        image.GetSpacing(), image.GetOrigin(), image.GetDirection()
    )
    assert np.array_equal(sitk.GetArrayViewFromImage(again), sitk.GetArrayViewFromImage(image))
    assert vol.to_sitk() is image  # the wrapped image itself, no copy


def test_like_takes_the_grid_and_refuses_another_shape() -> None:
    grid = Volume(np.zeros((2, 3, 4), np.int16), (1.0, 2.0, 3.0), (4.0, 5.0, 6.0),
                  (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0))  # fmt: skip
    mask = Volume.like(np.ones((2, 3, 4), np.uint8), grid)
    assert mask.spacing == grid.spacing
    assert (mask.origin, mask.direction) == (grid.origin, grid.direction)
    assert not mask.array.flags.writeable
    with pytest.raises(ValueError, match="shape"):
        Volume.like(np.ones((2, 3, 5), np.uint8), grid)


PROBE = """
import json, sys
from radiomix.extraction import extract
r = extract(sys.argv[1], sys.argv[2], settings="ibsi-C")
print(json.dumps({"sitk": "SimpleITK" in sys.modules, "n": len(r.features)}))
"""


@pytest.mark.data
def test_nifti_extraction_never_imports_simpleitk() -> None:
    case = require_data("sts", "nifti", "STS_002", "ct")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(case / "image.nii.gz"), str(case / "mask.nii.gz")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"sitk": False, "n": 217}


@pytest.mark.data
def test_cli_extract_of_a_nifti_case_never_imports_simpleitk(tmp_path) -> None:
    case = require_data("sts", "nifti", "STS_002", "ct")
    code = (
        "import sys\n"
        "from radiomix.cli import main\n"
        "sys.argv = ['radiomix', 'extract', sys.argv[1], sys.argv[2], '--out', sys.argv[3]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('SimpleITK' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(case / "image.nii.gz"), str(case / "mask.nii.gz"),
         str(tmp_path / "row.csv")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "row.csv").stat().st_size > 0


@pytest.mark.data
def test_nifti_volume_and_simpleitk_image_give_the_same_features() -> None:
    from radiomix.case import load_case
    from radiomix.features.extract import compute_features
    from radiomix.io.image import read_image
    from radiomix.process.pipeline import process_case
    from radiomix.settings import load_preset

    case = require_data("sts", "nifti", "STS_048", "ct")
    image, mask = case / "image.nii.gz", case / "mask.nii.gz"
    settings_c = load_preset("ibsi-C")

    def features(source: object) -> dict[str, float]:
        checked = load_case(source, mask)  # type: ignore[arg-type]
        return compute_features(process_case(checked, settings_c).context, settings_c)

    lean, via_sitk = features(image), features(read_image(image))
    assert lean.keys() == via_sitk.keys()
    for key, value in lean.items():
        assert value == via_sitk[key] or (np.isnan(value) and np.isnan(via_sitk[key])), key
