"""Round 5 as a user, extraction side: per-slice features name their slice plane."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from _data import require_data
from radiomix.extraction import extract, slice_plane_note


def test_slice_plane_note_names_the_plane_of_the_slice_normal() -> None:
    eye = (1, 0, 0, 0, 1, 0, 0, 0, 1)
    assert "axial" in slice_plane_note(eye)
    # index axes (i, j, k) along (y, z, x): slices normal to x, sagittal
    assert "sagittal" in slice_plane_note((0, 0, 1, 1, 0, 0, 0, 1, 0))
    assert "coronal" in slice_plane_note((1, 0, 0, 0, 0, 1, 0, 1, 0))
    c, s = np.cos(np.radians(40)), np.sin(np.radians(40))
    tilted = (1, 0, 0, 0, c, -s, 0, s, c)  # slice normal 40 degrees from z
    assert "oblique, nearest axial" in slice_plane_note(tilted)


def test_2d_extraction_notes_the_stored_slice_plane(tmp_path) -> None:
    """The same physical image stored with its slices along x (a permuted NIfTI) gives
    other 2D texture values (stored slices are sagittal there): the provenance says which
    plane the slices were."""
    folder = require_data("sts", "nifti", "STS_002", "ct")
    img = sitk.ReadImage(str(folder / "image.nii.gz"))
    msk = sitk.ReadImage(str(folder / "mask.nii.gz"))
    order = (1, 2, 0)  # index axes (y, z, x): the stored slices lie along x
    for name, im in (("image", img), ("mask", msk)):
        sitk.WriteImage(sitk.PermuteAxes(im, order), str(tmp_path / f"{name}.nii.gz"))
    from radiomix.settings import ExtractionSettings
    from radiomix.settings.steps import FeatureSettings

    settings = ExtractionSettings(dimensionality="2d",
                                  features=FeatureSettings(families=("stat", "glcm")))
    axial = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings=settings)
    sagittal = extract(tmp_path / "image.nii.gz", tmp_path / "mask.nii.gz", settings=settings)
    assert "per-slice features on stored slices: axial" in axial.provenance["notes"]["slices"]
    assert ("per-slice features on stored slices: sagittal"
            in sagittal.provenance["notes"]["slices"])
    three_d = extract(folder / "image.nii.gz", folder / "mask.nii.gz",
                      settings=ExtractionSettings(features=FeatureSettings(families=("stat",))))
    assert "slices" not in three_d.provenance["notes"]


def test_a_zombie_run_counts_as_ended() -> None:
    """Workers end with their run (``_alive`` of the run's pid). A run killed by ``kill -9``
    whose parent has not collected it yet is a zombie: it counts as ended, or its workers
    (holding the parent's output pipe open) and the parent would wait for each other."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    import pytest

    from radiomix.cohort import _alive

    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc: zombies cannot be told from running processes here")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        stat = Path(f"/proc/{child.pid}/stat")
        while ") Z" not in stat.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)  # not reaped: Popen.poll() is not called
        assert ") Z" in stat.read_text()
        assert not _alive(child.pid)
    finally:
        child.wait()
    assert _alive(__import__("os").getpid())


def test_the_default_truncation_written_out_gives_the_same_settings_hash() -> None:
    from radiomix.settings import settings_from_dict, settings_hash

    base = {"response_maps": {"filters": [{"kind": "log", "sigma_mm": 1.5}]}}
    spelled = {"response_maps": {"filters": [{"kind": "log", "sigma_mm": 1.5,
                                              "truncation": 4.0}]}}
    other = {"response_maps": {"filters": [{"kind": "log", "sigma_mm": 1.5,
                                            "truncation": 3.0}]}}
    a, b, c = (settings_hash(settings_from_dict(d)) for d in (base, spelled, other))
    assert a == b
    assert a != c


def test_an_anisotropic_3d_filter_names_the_filters_own_dimensionality_key() -> None:
    import pytest

    from radiomix.errors import InputError
    from radiomix.process.filters._validate import isotropic_spacing

    with pytest.raises(InputError, match="give the filter its own dimensionality: 2d"):
        isotropic_spacing((3.0, 0.8, 0.8), (0, 1, 2), "LoG filter")


def test_a_ring_cut_by_the_image_edge_is_noted_in_the_case_provenance(tmp_path) -> None:
    from radiomix.process.peritumoral import RING_CUT_NOTE
    from radiomix.settings import ExtractionSettings
    from radiomix.settings.steps import FeatureSettings, PreprocessSettings

    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 10.0, size=(20, 30, 30)).astype(np.float32)
    settings = ExtractionSettings(
        preprocess=PreprocessSettings(roi="ring", ring_inner_mm=0.0, ring_outer_mm=4.0),
        features=FeatureSettings(families=("stat",)))
    notes = {}
    for where, zs in (("inside", slice(8, 12)), ("edge", slice(0, 3))):
        mask = np.zeros(image.shape, np.uint8)
        mask[zs, 12:18, 12:18] = 1
        for name, arr in (("image", image), ("mask", mask)):
            im = sitk.GetImageFromArray(arr)
            im.SetSpacing((1.0, 1.0, 2.0))
            sitk.WriteImage(im, str(tmp_path / f"{where}_{name}.nii.gz"))
        res = extract(tmp_path / f"{where}_image.nii.gz", tmp_path / f"{where}_mask.nii.gz",
                      settings=settings)
        notes[where] = res.provenance["notes"]
    assert notes["edge"]["preprocess.ring"] == RING_CUT_NOTE
    assert "preprocess.ring" not in notes["inside"]
