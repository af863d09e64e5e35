"""``radiomix extract --deep``: a weight problem is a settings problem (outside tester S,
round 20): exit 2 and one line, as ``radiomix run`` does for the same file (it was exit 1,
"the case failed"); ``--deep-weights`` without ``--deep`` was silently ignored."""

from __future__ import annotations

import pytest

from _data import run_cli

torch = pytest.importorskip("torch")
monai = pytest.importorskip("monai")


@pytest.fixture
def case(tmp_path):
    import numpy as np
    import SimpleITK as sitk

    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray(rng.normal(40, 20, (6, 40, 40)).astype(np.float32))
    mask = np.zeros((6, 40, 40), np.uint8)
    mask[2:5, 12:26, 14:28] = 1
    m = sitk.GetImageFromArray(mask)
    for im in (image, m):
        im.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(image, str(tmp_path / "img.nii.gz"))
    sitk.WriteImage(m, str(tmp_path / "mask.nii.gz"))
    return tmp_path / "img.nii.gz", tmp_path / "mask.nii.gz"


def _extract(case, tmp_path, *args):
    return run_cli("extract", str(case[0]), str(case[1]), "--out", str(tmp_path / "f.csv"),
                   "--preset", "ibsi-digital", *args)


def _one_line(res):
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def test_a_weight_file_that_cannot_serve_is_exit_2(case, tmp_path):
    missing = _extract(case, tmp_path, "--deep", "resnet18:2.5d", "--deep-weights",
                       str(tmp_path / "none.pth"))
    assert missing.returncode == 2
    assert "--deep-weights" in _one_line(missing)
    from monai.networks.nets import resnet18

    good = tmp_path / "r18.pth"
    torch.save(resnet18(spatial_dims=2, n_input_channels=3, num_classes=2).state_dict(), good)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    damaged = _extract(case, tmp_path, "--deep", "resnet18:2.5d", "--deep-weights", str(cut))
    assert damaged.returncode == 2
    assert "cut.pth" in _one_line(damaged)
    other = _extract(case, tmp_path, "--deep", "resnet34:2.5d", "--deep-weights", str(good))
    assert other.returncode == 2
    assert "resnet34" in _one_line(other)
    assert not (tmp_path / "f.csv").exists()


def test_deep_weights_without_deep_is_refused(case, tmp_path):
    res = _extract(case, tmp_path, "--deep-weights", "random")
    assert res.returncode == 2
    assert "--deep-weights chooses the weights of --deep, which was not given" in _one_line(res)
    assert not (tmp_path / "f.csv").exists()
