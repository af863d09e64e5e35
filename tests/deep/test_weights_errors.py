"""Weights: cache folder, hash checks, offline errors, user files. No test uses the network.

Oracles: hashlib for the SHA-256 of the files the tests write, torch hub's naming
convention (``name-<first hex digits of the SHA-256>.ext``) for the published files.
"""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from radiomix.deep import weights as W  # noqa: E402
from radiomix.deep.errors import WeightsError, WeightsNotFoundError  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "rc"))
    return tmp_path / "rc" / "weights"


def _no_network(url, dst):  # pragma: no cover - must never be reached in these tests
    raise AssertionError(f"network access attempted: {url}")


def test_cache_dir_follows_radiomix_cache(cache):
    assert W.cache_dir() == cache


def test_cache_dir_follows_torch_home(tmp_path, monkeypatch):
    monkeypatch.delenv("RADIOMIX_CACHE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert W.cache_dir() == tmp_path / "th" / "hub" / "checkpoints"


@pytest.mark.parametrize(
    "env",
    [{}, {"TORCH_HOME": "th"}, {"XDG_CACHE_HOME": "xdg"},
     {"TORCH_HOME": "th", "XDG_CACHE_HOME": "x"}],
)
def test_cache_dir_without_torch_is_torch_hubs(tmp_path, env):
    """Parsing a study finds the cache folder without importing torch; torch's own
    ``torch.hub.get_dir()`` (in the same environment, after the import) is the oracle."""
    import os
    import subprocess
    import sys

    full = {k: v for k, v in os.environ.items() if k not in ("RADIOMIX_CACHE", "TORCH_HOME",
                                                                 "XDG_CACHE_HOME")}
    full.update({k: str(tmp_path / v) for k, v in env.items()})
    code = (
        "import sys; from radiomix.deep.weights import cache_dir; d = cache_dir(); "
        "assert 'torch' not in sys.modules; import torch.hub; "
        "print(d); print(torch.hub.get_dir())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert Path(out[0]) == Path(out[1]) / "checkpoints"


def test_known_urls_follow_torch_hub_naming():
    k = W.known_weights("imagenet", "resnet18", 2)
    assert k.url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert k.filename == "resnet18-f37072fd.pth"
    assert k.hash_prefix == "f37072fd"
    assert W.known_weights("imagenet", "resnet50", 2).hash_prefix == "0676ba61"


def test_offline_error_says_which_file_to_put_where(cache, monkeypatch):
    def offline(url, dst):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(W, "_download", offline)
    with pytest.raises(WeightsNotFoundError) as info:
        W.resolve_weights("imagenet", model="resnet18", spatial_dims=2)
    msg = str(info.value)
    assert "resnet18-f37072fd.pth" in msg
    assert str(cache / "resnet18-f37072fd.pth") in msg
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in msg
    assert "no route to host" in msg
    assert "weights=PATH" in msg


def test_download_disabled(cache, monkeypatch):
    monkeypatch.setattr(W, "_download", _no_network)
    with pytest.raises(WeightsNotFoundError, match=r"download=False.*weights=PATH"):
        W.resolve_weights("imagenet", model="resnet34", spatial_dims=2, download=False)


def test_cached_file_with_wrong_hash_is_refused(cache, monkeypatch):
    monkeypatch.setattr(W, "_download", _no_network)
    cache.mkdir(parents=True)
    (cache / "resnet18-f37072fd.pth").write_bytes(b"not the published file")
    with pytest.raises(WeightsError, match=r"does not start with f37072fd.*delete it and "
                                           r"download it again"):
        W.resolve_weights("imagenet", model="resnet18", spatial_dims=2)


def test_user_file_named_like_the_published_one_is_checked(tmp_path):
    path = tmp_path / "resnet18-f37072fd.pth"
    path.write_bytes(b"something else")
    # round 16: the advice was --deep-weights PATH, the option the user had given
    with pytest.raises(WeightsError, match=r"f37072fd.*promises the published weights: "
                                           r"rename it to use your own weights"):
        W.resolve_weights(path, model="resnet18", spatial_dims=2)
    renamed = path.rename(tmp_path / "my_resnet18.pth")
    assert W.resolve_weights(renamed, model="resnet18", spatial_dims=2).verified == "unverified"


def _fake_known(tmp_path, content: bytes, *, full: bool = False) -> W.KnownWeights:
    digest = hashlib.sha256(content).hexdigest()
    url = f"https://example.invalid/models/resnet18-{digest[:8]}.pth"
    return W.KnownWeights("imagenet", "resnet18", 2, url, digest if full else None)


@pytest.mark.parametrize("full", [False, True])
def test_cached_known_file_is_verified(cache, monkeypatch, tmp_path, full):
    content = b"pretend weights"
    known = _fake_known(tmp_path, content, full=full)
    monkeypatch.setattr(W, "KNOWN_WEIGHTS", (known,))
    monkeypatch.setattr(W, "_download", _no_network)
    cache.mkdir(parents=True)
    (cache / known.filename).write_bytes(content)
    src = W.resolve_weights("imagenet", model="resnet18", spatial_dims=2)
    assert src.kind == "known"
    assert src.sha256 == hashlib.sha256(content).hexdigest()
    assert src.verified == ("sha256" if full else "hash-prefix")
    assert src.to_dict()["random_weights"] is False


def test_full_hash_mismatch(cache, monkeypatch, tmp_path):
    known = W.KnownWeights(
        "imagenet", "resnet18", 2, "https://example.invalid/r18.pth", sha256="0" * 64
    )
    monkeypatch.setattr(W, "KNOWN_WEIGHTS", (known,))
    cache.mkdir(parents=True)
    (cache / "r18.pth").write_bytes(b"x")
    with pytest.raises(WeightsError, match="differs from the published 0000"):
        W.resolve_weights("imagenet", model="resnet18", spatial_dims=2)


def test_download_lands_in_cache_and_is_verified(cache, monkeypatch, tmp_path):
    content = b"downloaded bytes"
    known = _fake_known(tmp_path, content)
    monkeypatch.setattr(W, "KNOWN_WEIGHTS", (known,))
    calls = []

    def fake_download(url, dst):
        calls.append((url, dst))
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(content)

    monkeypatch.setattr(W, "_download", fake_download)
    src = W.resolve_weights("imagenet", model="resnet18", spatial_dims=2)
    assert calls == [(known.url, cache / known.filename)]
    assert src.path == cache / known.filename
    assert src.verified == "hash-prefix"


def test_imagenet_is_2d_only():
    with pytest.raises(WeightsError, match=r"no published 'imagenet' weights for the 3D resnet18"):
        W.resolve_weights("imagenet", model="resnet18", spatial_dims=3)


def test_medicalnet_has_no_published_hash(cache, monkeypatch):
    monkeypatch.setattr(W, "_download", _no_network)
    cache.mkdir(parents=True)
    (cache / "resnet_10_23dataset.pth").write_bytes(b"mn")
    src = W.resolve_weights("medicalnet", model="resnet10", spatial_dims=3)
    assert src.verified == "unverified"
    assert src.sha256 == hashlib.sha256(b"mn").hexdigest()


def test_unknown_keyword_or_missing_path():
    with pytest.raises(WeightsError, match=r"'imagnet' is none of these \(no such file\)"):
        W.resolve_weights("imagnet", model="resnet18", spatial_dims=2)


def test_random_is_flagged():
    src = W.resolve_weights("random", model="resnet18", spatial_dims=2)
    d = src.to_dict()
    assert d["random_weights"] is True
    assert d["weights_file"] is None


def test_user_file_hash_recorded(tmp_path):
    path = tmp_path / "mine.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    src = W.resolve_weights(str(path), model="resnet18", spatial_dims=2)
    assert src.kind == "file"
    assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert src.to_dict()["weights_file"] == "mine.pth"
    assert set(W.read_state_dict(src)) == {"conv1.weight"}


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"\x00garbage")
    src = W.resolve_weights(path, model="resnet18", spatial_dims=2)
    with pytest.raises(WeightsError, match=r"broken\.pth: cannot be read as a torch checkpoint"):
        W.read_state_dict(src)

