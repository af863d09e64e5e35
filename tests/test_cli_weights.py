"""``radiomix weights add`` / ``list``: hash checks and the cache folder.

The published files are tens of megabytes and cannot be downloaded here, so the known-file
table is replaced by one whose file name carries the hash prefix of a small file written by
the test (the prefix is computed with hashlib, independently of the code under test).
"""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from radiomix.cli import app
from radiomix.deep import weights as W

runner = CliRunner()
CONTENT = b"not really a checkpoint, but hashed like one"
DIGEST = hashlib.sha256(CONTENT).hexdigest()
PUBLISHED = f"resnet18-{DIGEST[:8]}.pth"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "cache"))
    known = (
        W.KnownWeights("imagenet", "resnet18", 2, f"https://example.org/{PUBLISHED}"),
        W.KnownWeights("medicalnet", "resnet10", 3, "https://example.org/resnet_10_23dataset.pth"),
    )
    monkeypatch.setattr(W, "KNOWN_WEIGHTS", known)
    return tmp_path / "cache" / "weights"


def test_add_published_file_copies_it_into_the_cache(tmp_path, cache):
    src = tmp_path / "dl" / PUBLISHED
    src.parent.mkdir()
    src.write_bytes(CONTENT)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 0, res.output
    assert "hash prefix verified" in res.output
    assert (cache / PUBLISHED).read_bytes() == CONTENT
    again = runner.invoke(app, ["weights", "add", str(src)])
    assert again.exit_code == 0
    assert "already in the cache" in again.output


def test_renamed_file_is_recognised_by_its_hash(tmp_path, cache):
    src = tmp_path / "model.pth"
    src.write_bytes(CONTENT)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 0, res.output
    assert (cache / PUBLISHED).read_bytes() == CONTENT


def test_damaged_file_is_refused(tmp_path, cache):
    src = tmp_path / PUBLISHED
    src.write_bytes(CONTENT + b"!")
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 1
    assert f"does not start with {DIGEST[:8]}" in res.output
    assert not (cache / PUBLISHED).exists()


def test_unknown_file_and_missing_file_are_refused(tmp_path, cache):
    src = tmp_path / "mine.pth"
    src.write_bytes(b"something else")
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 1
    assert "none of the published weight files" in res.output
    assert "--deep-weights PATH" in res.output
    res = runner.invoke(app, ["weights", "add", str(tmp_path / "nope.pth")])
    assert res.exit_code == 1
    assert "weights file not found" in res.output


def _checkpoint(path, value: float) -> bytes:
    import torch

    torch.save({"state_dict": {"conv1.weight": torch.full((2, 1, 3, 3, 3), value)}}, path)
    return path.read_bytes()


def test_medicalnet_file_has_no_hash_and_a_different_cached_file_needs_force(tmp_path, cache):
    src = tmp_path / "resnet_10_23dataset.pth"
    _checkpoint(src, 1.0)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 0, res.output
    assert "not verified" in res.output
    v2 = _checkpoint(src, 2.0)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 1
    assert "--force" in res.output
    res = runner.invoke(app, ["weights", "add", str(src), "--force"])
    assert res.exit_code == 0, res.output
    assert (cache / "resnet_10_23dataset.pth").read_bytes() == v2


def test_a_file_without_published_hash_must_at_least_be_a_checkpoint(tmp_path, cache):
    """Random bytes named like the MedicalNet file were copied into the cache (nothing to
    check them against), and failed only when used, with torch's advice to load with
    weights_only=False (which runs whatever code a foreign file holds)."""
    src = tmp_path / "resnet_10_23dataset.pth"
    src.write_bytes(bytes(range(256)) * 20)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 1
    assert "cannot be read as a torch checkpoint of tensors" in res.output
    assert "download it again" in res.output
    assert "weights_only" not in res.output
    assert not (cache / "resnet_10_23dataset.pth").exists()


def test_list_shows_state_modes_and_source(tmp_path, cache):
    cache.mkdir(parents=True)
    (cache / PUBLISHED).write_bytes(CONTENT)
    res = runner.invoke(app, ["weights", "list"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("imagenet")
    assert "cached" in lines[0]
    assert "--deep resnet18:slices|max_slice|2.5d" in lines[0]
    assert f"https://example.org/{PUBLISHED}" in lines[1]
    assert "missing" in lines[2]
    assert "--deep resnet10:3d --deep-weights medicalnet" in lines[2]
    assert f"cache folder: {cache}" in res.output
    assert "radiomix weights add FILE" in res.output


def test_added_file_is_what_resolve_weights_finds(tmp_path, cache):
    src = tmp_path / PUBLISHED
    src.write_bytes(CONTENT)
    assert runner.invoke(app, ["weights", "add", str(src)]).exit_code == 0
    found = W.resolve_weights("imagenet", model="resnet18", spatial_dims=2, download=False)
    assert found.path == cache / PUBLISHED
    assert found.sha256 == DIGEST
    assert found.verified == "hash-prefix"


def test_a_cache_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, cache, monkeypatch):
    """Round 20 (tester Q): a folder under the file's name in the cache, or a file where
    the cache goes, gave a traceback and left a 57 MB ``.part`` file behind."""
    src = tmp_path / "dl" / PUBLISHED
    src.parent.mkdir()
    src.write_bytes(CONTENT)
    (cache / PUBLISHED).mkdir(parents=True)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert f"{PUBLISHED} in the weight cache" in res.output
    assert "is not a file" in res.output
    assert sorted(p.name for p in cache.iterdir()) == [PUBLISHED]  # no .part left
    blocked = tmp_path / "cachefile"
    blocked.write_text("a file, not a folder")
    monkeypatch.setenv("RADIOMIX_CACHE", str(blocked))
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "cannot write the weight cache" in res.output
    assert "RADIOMIX_CACHE" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_a_failed_copy_leaves_no_part_file(tmp_path, cache, monkeypatch):
    import os

    src = tmp_path / PUBLISHED
    src.write_bytes(CONTENT)

    def full_disk(a, b):
        raise OSError(28, "No space left on device", str(b))

    monkeypatch.setattr(os, "replace", full_disk)
    res = runner.invoke(app, ["weights", "add", str(src)])
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output
    assert not list(cache.glob("*.part"))
