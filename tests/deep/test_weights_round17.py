"""Round 17 (outside test t17D): deep-network weight files in study runs.

- F1: a relative ``deep.weights`` path starts from the study file's folder, not from the
  folder the command runs in (where another file of that name may lie);
- F2: a weight file with a NaN tensor is refused when read, and an embedding that is not
  finite is never written as features;
- F3: an unusable weight file (missing, truncated, another network, NaN) is one usage
  error before any case runs (exit 2), not one failure per case; long key lists are cut;
- F4: ``radiomix weights list`` says when a cached file under a published name fails its
  hash.

Weights are written here with MONAI (no download); the images are a small synthetic
NIfTI volume. Oracles: the SHA-256 of the file meant (hashlib), the tensor made NaN.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")
sitk = pytest.importorskip("SimpleITK")

from typer.testing import CliRunner  # noqa: E402

from radiomix.cli import app  # noqa: E402
from radiomix.cohort import plan_cases, run_study  # noqa: E402
from radiomix.deep import DeepEmbedder, DeepSettings  # noqa: E402
from radiomix.deep import weights as W  # noqa: E402
from radiomix.deep.networks import random_backbone  # noqa: E402
from radiomix.errors import SettingsError, WeightsError  # noqa: E402
from radiomix.settings.study import load_study  # noqa: E402
from radiomix.table import read_provenance  # noqa: E402

runner = CliRunner()
SMALL_INPUT = 32  # network input pixels: keeps each embedding a few milliseconds


def _state(seed: int) -> dict[str, torch.Tensor]:
    return random_backbone("resnet18", spatial_dims=2, seed=seed).state_dict()


def _save(path: Path, state: dict[str, torch.Tensor]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _study(folder: Path, weights: str, n: int = 2) -> Path:
    """A study of ``n`` synthetic CT-like lesions with deep features from ``weights``."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = ["patient_id,lesion_id,ct_image,ct_mask"]
    for i in range(n):
        image = rng.normal(40.0, 30.0, (16, 20, 20)).astype(np.float32)
        mask = np.zeros(image.shape, np.uint8)
        mask[5:11, 6:14, 6:14] = 1
        for arr, name in ((image, "image"), (mask, "mask")):
            img = sitk.GetImageFromArray(arr)
            img.SetSpacing((2.0, 2.0, 2.0))
            sitk.WriteImage(img, str(data / f"p{i}_{name}.nii.gz"))
        lines.append(f"P{i},1,p{i}_image.nii.gz,p{i}_mask.nii.gz")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = {
        "name": "r17",
        "manifest": "manifest.csv",
        "data_root": "data",
        "tags": {"ct": {"settings": {
            "interpolation": {"spacing": [4.0, 4.0, 4.0]},
            "discretisation": {"method": "fbn", "bins": 8},
            "features": {"families": ["stat"]},
        }}},
        "deep": {"model": "resnet18", "mode": "2.5d", "weights": weights},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


# --- F1: relative weight paths start from the study file's folder ----------------------


def test_relative_weights_start_from_the_study_folder_not_the_current_one(
        tmp_path, monkeypatch):
    meant = _save(tmp_path / "study" / "w.pth", _state(1))
    study = _study(tmp_path / "study", "w.pth", n=1)
    elsewhere = _save(tmp_path / "elsewhere" / "w.pth", _state(2))  # same name, other file
    monkeypatch.chdir(elsewhere.parent)
    loaded = load_study(study)
    assert Path(loaded.settings.deep.weights) == meant
    # the case keys and the provenance keep the path as written (no folder)
    assert loaded.to_dict()["deep"]["weights"] == "w.pth"
    result = run_study(loaded, tmp_path / "out")
    assert result.ok
    prov = read_provenance(result.features_path)
    assert prov["deep"]["weights_sha256"] == _sha(meant) != _sha(elsewhere)
    assert prov["deep"]["requested"]["weights"] == "w.pth"
    case = json.loads(next((tmp_path / "out" / "cases").glob("*.json")).read_text())
    assert case["provenance"]["deep"]["settings"]["weights"] == "w.pth"  # its name only
    assert case["provenance"]["deep"]["weights_sha256"] == _sha(meant)


def test_case_keys_do_not_depend_on_the_current_folder(tmp_path, monkeypatch):
    _save(tmp_path / "study" / "w.pth", _state(1))
    study = _study(tmp_path / "study", "w.pth", n=1)
    keys = []
    for cwd in (tmp_path / "study", tmp_path):
        monkeypatch.chdir(cwd)
        keys.append([t.key for t in plan_cases(load_study(study))[1]])
    assert keys[0] == keys[1]


def test_missing_relative_weights_name_the_study_folder_not_an_absolute_one(
        tmp_path, monkeypatch):
    study = _study(tmp_path / "study", "w.pth", n=1)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["run", str(study), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2, res.output
    assert ("deep.weights: weights file 'w.pth' not found (looked for study/w.pth: relative "
            "paths start from the folder of study.yaml") in res.output
    assert str(tmp_path) not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # refused before any output


def test_environment_variables_and_absolute_weights_paths(tmp_path, monkeypatch):
    meant = _save(tmp_path / "models" / "w.pth", _state(1))
    monkeypatch.setenv("R17_MODELS", str(meant.parent))
    study = _study(tmp_path / "study", "${R17_MODELS}/w.pth", n=1)
    assert Path(load_study(study).settings.deep.weights) == meant
    study = _study(tmp_path / "study", str(meant), n=1)
    assert Path(load_study(study).settings.deep.weights) == meant
    study = _study(tmp_path / "study", "../models/w.pth", n=1)
    assert Path(load_study(study).settings.deep.weights) == meant


# --- F2: non-finite weights and embeddings ----------------------------------------------


def test_a_nan_tensor_is_refused_when_the_file_is_read(tmp_path):
    state = _state(1)
    state["layer4.1.bn2.weight"] = state["layer4.1.bn2.weight"] * float("nan")
    path = _save(tmp_path / "sub" / "w_nan.pth", state)
    with pytest.raises(WeightsError) as err:
        DeepEmbedder(DeepSettings(mode="2.5d", weights=str(path), input_size=SMALL_INPUT))
    msg = str(err.value)
    assert msg.startswith("w_nan.pth: tensor layer4.1.bn2.weight holds NaN or infinite")
    assert str(tmp_path) not in msg
    state = _state(1)
    state["conv1.weight"][0, 0, 0, 0] = float("inf")
    path = _save(tmp_path / "w_inf.pth", state)
    with pytest.raises(WeightsError, match=r"^w_inf\.pth: tensor conv1\.weight holds NaN"):
        DeepEmbedder(DeepSettings(mode="2.5d", weights=str(path), input_size=SMALL_INPUT))


def test_an_embedding_that_overflows_is_refused_not_written(tmp_path):
    """Finite weights can still overflow float32 (3e38 scales): no NaN row is returned."""
    state = _state(1)
    for name in ("bn1.weight", "layer1.0.bn1.weight", "layer1.0.bn2.weight"):
        state[name] = torch.full_like(state[name], 3e38)
    path = _save(tmp_path / "w_big.pth", state)
    emb = DeepEmbedder(DeepSettings(mode="2.5d", weights=str(path), input_size=SMALL_INPUT))
    image = np.random.default_rng(0).normal(size=(8, 12, 12))
    mask = np.zeros(image.shape, bool)
    mask[2:6, 3:9, 3:9] = True
    with pytest.raises(WeightsError, match=r"NaN or infinite values of 512: the weights "
                                           r"\(w_big\.pth\) overflow on this input"):
        emb.embed_arrays(image, mask, (1.0, 1.0, 1.0))


def test_nan_features_cached_by_an_earlier_version_are_not_reused(tmp_path):
    """Cases computed before weights were checked hold NaN deep features under the NaN
    file's key: the re-run checks the file and refuses it instead of reusing them."""
    state = _state(1)
    state["layer4.1.bn2.weight"] = state["layer4.1.bn2.weight"] * float("nan")
    _save(tmp_path / "study" / "w.pth", state)
    study = _study(tmp_path / "study", "w.pth", n=1)
    cases = tmp_path / "out" / "cases"
    cases.mkdir(parents=True)
    from radiomix.cohort import CASE_FORMAT

    for task in plan_cases(load_study(study))[1]:  # the records the old version wrote
        record = {"format": CASE_FORMAT, "key": task.key, "patient_id": task.patient_id,
                  "lesion_id": task.lesion_id, "tag": task.tag, "status": "ok",
                  "cacheable": True,
                  "features": {"ct.deep.resnet18_2p5d.f000": math.nan}}
        (cases / f"{task.key}.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^deep\.weights: w\.pth: tensor "
                                            r"layer4\.1\.bn2\.weight holds NaN"):
        run_study(study, tmp_path / "out")


# --- F3: one usage error before any case ------------------------------------------------


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    nan = _state(1)
    nan["layer4.1.bn2.weight"] = nan["layer4.1.bn2.weight"] * float("nan")
    r34 = random_backbone("resnet34", spatial_dims=2, seed=0).state_dict()
    good = _save(folder / "good.pth", _state(1))
    trunc = folder / "trunc.pth"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    in1 = _state(1)
    in1["conv1.weight"] = in1["conv1.weight"][:, :1]
    return {
        "nan": (_save(folder / "nan.pth", nan), r"tensor layer4\.1\.bn2\.weight holds NaN"),
        "trunc": (trunc, r"cannot be read as a torch checkpoint of tensors"),
        "r34": (_save(folder / "r34.pth", r34),
                r"unexpected keys \[[^]]*\] \(\+\d+ more\); the number of blocks differs"),
        "in1": (_save(folder / "in1.pth", in1),
                r"shape differences \[conv1\.weight: file \(64, 1, 7, 7\) vs network"),
    }


@pytest.mark.parametrize("kind", ["nan", "trunc", "r34", "in1"])
def test_an_unusable_weight_file_is_one_usage_error_before_any_case(tmp_path, kind):
    path, expected = _bad_files(tmp_path / "w")[kind]
    study = _study(tmp_path / "study", str(path), n=3)
    res = runner.invoke(app, ["run", str(study), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output  # once, not once per case
    assert lines[0].startswith(f"error (SettingsError): deep.weights: {path.name}")
    assert len(lines[0]) < 400
    assert re.search(expected, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()  # no case ran, nothing written


def test_a_replaced_file_is_checked_again_on_the_next_run(tmp_path):
    """Cases cached with a good file, then a bad one written at its path: refused (the
    key changes with the file's SHA-256, so the deep cases are to be computed)."""
    files = _bad_files(tmp_path / "w")
    weights = tmp_path / "study" / "w.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes((tmp_path / "w" / "good.pth").read_bytes())
    study = _study(tmp_path / "study", "w.pth", n=1)
    assert run_study(study, tmp_path / "out").ok
    assert run_study(study, tmp_path / "out").n_computed == 0  # current: nothing checked
    weights.write_bytes(files["in1"][0].read_bytes())
    with pytest.raises(SettingsError, match=r"^deep\.weights: w\.pth does not match"):
        run_study(study, tmp_path / "out")


# --- F4: weights list ---------------------------------------------------------------------


def test_weights_list_says_a_cached_file_fails_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "rc"))
    published = W.known_weights("imagenet", "resnet18", 2)
    _save(tmp_path / "rc" / "weights" / published.filename, _state(1))  # not the published
    entry = next(w for w in W.cached_weights(verify=True) if w.known == published)
    assert entry.cached
    assert entry.verified == "mismatch"
    assert next(w for w in W.cached_weights() if w.known == published).verified is None
    res = runner.invoke(app, ["weights", "list"])
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert first.startswith("imagenet   2D resnet18 HASH MISMATCH (not the published file)")
    assert "cached (" not in first
    assert "1 cached file(s) are damaged or not the published ones (a run refuses them)" in (
        res.output
    )


def test_weights_list_reads_a_cached_file_without_published_hash(tmp_path, monkeypatch):
    """MedicalNet files have no published hash: a partial download was listed as cached
    (round 17); it is now read as a run reads it and listed as unreadable."""
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "rc"))
    published = W.known_weights("medicalnet", "resnet18", 3)
    assert published.sha256 is None
    assert published.hash_prefix is None
    whole = _save(tmp_path / "rc" / "weights" / published.filename,
                  random_backbone("resnet18", spatial_dims=3, seed=2).state_dict())
    whole_entry = next(w for w in W.cached_weights(verify=True) if w.known == published)
    assert whole_entry.verified == "unverified"
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) // 2])  # a download cut halfway
    entry = next(w for w in W.cached_weights(verify=True) if w.known == published)
    assert entry.cached
    assert entry.verified == "unreadable"
    res = runner.invoke(app, ["weights", "list"])
    assert res.exit_code == 0, res.output
    line = next(s for s in res.output.splitlines() if s.startswith("medicalnet 3D resnet18"))
    assert "UNREADABLE" in line
    assert "cached (" not in line
    assert "1 cached file(s) are damaged or not the published ones" in res.output


def test_weights_list_loads_a_medicalnet_file_into_its_network(tmp_path, monkeypatch):
    """Round 18: a valid checkpoint of another network under MedicalNet's name was listed
    "cached (0.0 MB)"; a run refused it (CheckpointMismatchError)."""
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "rc"))
    published = W.known_weights("medicalnet", "resnet18", 3)
    _save(tmp_path / "rc" / "weights" / published.filename, _state(1))  # a 2D ResNet18's
    entry = next(w for w in W.cached_weights(verify=True) if w.known == published)
    assert entry.verified == "other-network"
    res = runner.invoke(app, ["weights", "list"])
    line = next(s for s in res.output.splitlines() if s.startswith("medicalnet 3D resnet18"))
    assert "ANOTHER NETWORK'S WEIGHTS" in line
    assert "cached (" not in line
    own = random_backbone("resnet18", spatial_dims=3, seed=0).state_dict()
    _save(tmp_path / "rc" / "weights" / published.filename, own)
    entry = next(w for w in W.cached_weights(verify=True) if w.known == published)
    assert entry.verified == "unverified"  # its own network's tensors: usable, no hash
