"""Network weights: known published files, user files and random initialisation.

``weights`` is one of

- ``"imagenet"`` (2D): torchvision's ImageNet-1k files (``IMAGENET1K_V1``), looked up in the
  cache folder, downloaded there when allowed, and checked against the hash prefix in the
  file name (the first 8 hex digits of the file's SHA-256, as ``torch.hub`` checks it);
- ``"medicalnet"`` (3D): the MedicalNet files of Chen, Ma & Zheng (2019), looked up and
  downloaded the same way; no hash is published for them, so their SHA-256 is recorded
  but cannot be verified;
- a path to a ``.pth``/``.pt`` file (a state dict, or a mapping with a ``state_dict``
  entry); its SHA-256 is recorded;
- ``"random"``: MONAI's random initialisation from a fixed seed, flagged as such in the
  provenance. Only when asked: nothing ever falls back to random weights.

The cache folder is ``$RADIOMIX_CACHE/weights`` when ``RADIOMIX_CACHE`` is set, otherwise
torch hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), so a file fetched by torchvision is reused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from radiomix.errors import (
    CheckpointMismatchError,
    UsageError,
    WeightsError,
    WeightsNotFoundError,
)

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")
"""torch hub's convention: ``name-<sha256 prefix>.ext``."""


@dataclass(frozen=True, slots=True)
class KnownWeights:
    """A published weight file.

    Attributes
    ----------
    name : str
        Keyword that selects it (``imagenet``, ``medicalnet``).
    model : str
        Backbone (``resnet18`` ...).
    spatial_dims : int
        2 or 3.
    url : str
        Download address.
    sha256 : str or None
        Full SHA-256 where it is known; otherwise the prefix in the file name is checked.
    """

    name: str
    model: str
    spatial_dims: int
    url: str
    sha256: str | None = None

    @property
    def filename(self) -> str:
        """File name in the cache folder (the last part of the URL)."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str | None:
        """Hex prefix of the SHA-256 carried by the file name, if any."""
        return hash_prefix_of(self.filename)


_TV = "https://download.pytorch.org/models/"
_MN = "https://huggingface.co/TencentMedicalNet/MedicalNet-Resnet{d}/resolve/main/resnet_{d}_23dataset.pth"

KNOWN_WEIGHTS: tuple[KnownWeights, ...] = (
    KnownWeights("imagenet", "resnet18", 2, _TV + "resnet18-f37072fd.pth"),
    KnownWeights("imagenet", "resnet34", 2, _TV + "resnet34-b627a593.pth"),
    KnownWeights("imagenet", "resnet50", 2, _TV + "resnet50-0676ba61.pth"),
    KnownWeights("medicalnet", "resnet10", 3, _MN.format(d=10)),
    KnownWeights("medicalnet", "resnet18", 3, _MN.format(d=18)),
    KnownWeights("medicalnet", "resnet34", 3, _MN.format(d=34)),
    KnownWeights("medicalnet", "resnet50", 3, _MN.format(d=50)),
)
"""Published files: torchvision ``IMAGENET1K_V1`` ResNets and MedicalNet 3D ResNets."""

KNOWN_NAMES: tuple[str, ...] = ("imagenet", "medicalnet")


@dataclass(frozen=True, slots=True)
class WeightsSource:
    """Where the weights of one embedding network come from.

    Attributes
    ----------
    kind : {"known", "file", "random"}
        A published file, a user file, or random initialisation.
    name : str
        ``imagenet``, ``medicalnet``, ``file`` or ``random``.
    path : Path or None
        File read (None for random weights).
    sha256 : str or None
        SHA-256 of that file.
    url : str or None
        Published address (known files).
    verified : str
        How the file was checked: ``sha256``, ``hash-prefix``, ``unverified`` or
        ``not-applicable`` (random).
    """

    kind: Literal["known", "file", "random"]
    name: str
    path: Path | None
    sha256: str | None
    url: str | None
    verified: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for provenance (the file's name only, not its folder)."""
        return {
            "weights": self.name,
            "weights_kind": self.kind,
            "weights_file": self.path.name if self.path is not None else None,
            "weights_sha256": self.sha256,
            "weights_url": self.url,
            "weights_verified": self.verified,
            "random_weights": self.kind == "random",
        }


def hash_prefix_of(filename: str) -> str | None:
    """The SHA-256 prefix carried by a torch-hub-style file name (``resnet18-f37072fd.pth``)."""
    m = _HASH_IN_NAME.search(filename)
    return m.group(1) if m else None


def cache_dir() -> Path:
    """Folder where published weight files are looked up and downloaded.

    ``$RADIOMIX_CACHE/weights`` if ``RADIOMIX_CACHE`` is set, else torch hub's
    ``<hub dir>/checkpoints`` (which follows ``TORCH_HOME``).
    """
    env = os.environ.get("RADIOMIX_CACHE")
    if env:
        return Path(env).expanduser() / "weights"
    torch = sys.modules.get("torch")
    if torch is not None:  # follows torch.hub.set_dir too
        import torch.hub

        return Path(torch.hub.get_dir()) / "checkpoints"
    # torch hub's own rule, without importing torch (2 s) to parse a study file
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch"
    )
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}
"""Digests of weight files read in this process, by path, size, modification and
status-change times and inode: a run checks its weight file when the study is loaded, when
its cases are keyed and in its provenance (50 ms for ResNet18's 45 MB each time), and a
file written again changes its status-change time, which no tool can set back."""


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, in hex (read once per process while the file is unchanged)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    digest = _DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = _DIGESTS[key] = h.hexdigest()
    return digest


def known_weights(name: str, model: str, spatial_dims: int) -> KnownWeights:
    """The published file ``name`` for ``model`` in ``spatial_dims`` D.

    Raises
    ------
    WeightsError
        No such published file (e.g. ImageNet weights for a 3D network).
    """
    for k in KNOWN_WEIGHTS:
        if k.name == name and k.model == model and k.spatial_dims == spatial_dims:
            return k
    avail = sorted(
        {k.name for k in KNOWN_WEIGHTS if k.model == model and k.spatial_dims == spatial_dims}
    )
    raise WeightsError(
        f"no published {name!r} weights for the {spatial_dims}D {model}; known for it: "
        f"{avail or 'none'}. Pass --deep-weights PATH (weights=PATH in Python) to a "
        "checkpoint file, or random."
    )


def _download(url: str, dst: Path) -> None:
    """Fetch ``url`` into ``dst`` (through a temporary file, as torch hub does)."""
    import torch.hub

    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(url, str(dst), hash_prefix=None, progress=False)


def verify_file(path: Path, known: KnownWeights, *, given: bool = False) -> tuple[str, str]:
    """Check a file against its published hash; return ``(sha256, how)``.

    ``given``: the file was named by the user (``--deep-weights PATH``) rather than found in
    the cache; its published name then promises the published hash, and a file of other
    weights must be renamed to be used.

    Raises
    ------
    WeightsError
        The digest differs from the published one (full or prefix).
    """
    digest = sha256_file(path)
    fix = (f"it carries the published file's name {known.filename}, which promises the "
           "published weights: rename it to use your own weights (any other name), or "
           "replace it with the published file" if given else
           "delete it and download it again, or pass --deep-weights PATH (weights=PATH in "
           "Python) to a file of another name to use other weights deliberately")
    if known.sha256 is not None:
        if digest != known.sha256:
            raise WeightsError(
                f"{path}: SHA-256 {digest} differs from the published {known.sha256} of "
                f"{known.url}; the file is damaged or not the published one: {fix}."
            )
        return digest, "sha256"
    prefix = known.hash_prefix
    if prefix is not None:
        if not digest.startswith(prefix):
            raise WeightsError(
                f"{path}: SHA-256 {digest[:16]}... does not start with {prefix}, the hash "
                f"prefix of the published file {known.filename}; the file is damaged or not "
                f"the published one: {fix}."
            )
        return digest, "hash-prefix"
    return digest, "unverified"


def resolve_weights(
    weights: str | os.PathLike[str],
    *,
    model: str,
    spatial_dims: int,
    download: bool = True,
) -> WeightsSource:
    """Find (and if needed download and check) the weight file for a network.

    Parameters
    ----------
    weights : str or path
        ``"imagenet"``, ``"medicalnet"``, ``"random"`` or a path to a checkpoint file.
    model : str
        Backbone name.
    spatial_dims : int
        2 or 3.
    download : bool
        Whether a published file missing from the cache may be downloaded.

    Returns
    -------
    WeightsSource

    Raises
    ------
    WeightsNotFoundError
        A published file is not cached and cannot be downloaded (offline, or
        ``download=False``); the message names the file, the folder to put it in and the
        URL, and suggests ``weights=PATH``.
    WeightsError
        Hash mismatch, or ``weights`` is neither a keyword nor an existing file.
    """
    if isinstance(weights, str) and weights == "random":
        return WeightsSource("random", "random", None, None, None, "not-applicable")
    if isinstance(weights, str) and weights in KNOWN_NAMES:
        known = known_weights(weights, model, spatial_dims)
        folder = cache_dir()
        path = folder / known.filename
        if not path.is_file():
            reason = "downloads are disabled (download=False)"
            if download:
                log.info("downloading %s to %s", known.url, path)
                try:
                    _download(known.url, path)
                    reason = ""
                except (
                    Exception
                ) as exc:  # network errors come in many types (URLError, OSError, ...)
                    reason = f"the download failed: {type(exc).__name__}: {exc}"
            if reason:
                raise WeightsNotFoundError(
                    f"{weights} weights for the {spatial_dims}D {model} are not available: "
                    f"{known.filename} is not in {folder} and {reason}. Fetch {known.url} on a "
                    f"machine with network access and put it at {path} (the folder is "
                    "$RADIOMIX_CACHE/weights when RADIOMIX_CACHE is set, otherwise "
                    "$TORCH_HOME/hub/checkpoints; 'radiomix weights add FILE' checks the file "
                    "and puts it there), or pass --deep-weights PATH (weights=PATH "
                    "in Python) to the file, or "
                    "weights='random' for an untrained network."
                )
        digest, how = verify_file(path, known)
        if how == "unverified":
            log.warning("%s: no published hash; SHA-256 %s recorded, not verified", path, digest)
        return WeightsSource("known", weights, path, digest, known.url, how)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsError(
            f"weights must be 'imagenet' (2D), 'medicalnet' (3D), 'random' or the path of a "
            f"checkpoint file; {str(weights)!r} is none of these (no such file)"
        )
    for known in KNOWN_WEIGHTS:
        if (
            known.filename == path.name
            and known.model == model
            and known.spatial_dims == spatial_dims
        ):
            digest, how = verify_file(path, known, given=True)
            return WeightsSource("file", "file", path.resolve(), digest, known.url, how)
    return WeightsSource("file", "file", path.resolve(), sha256_file(path), None, "unverified")


def read_state_dict(source: WeightsSource) -> dict[str, Any]:
    """Load the tensors of a weight file (``torch.load`` with ``weights_only=True``).

    Raises
    ------
    WeightsError
        The file cannot be read as a torch checkpoint.
    """
    import torch

    from radiomix.deep.networks import unwrap_checkpoint

    if source.path is None:
        raise WeightsError("random weights have no file to read")
    try:
        obj = torch.load(source.path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable files
        # torch's own text is not shown: it advises weights_only=False, which would run
        # whatever code a damaged or foreign file holds
        network = pickled_network(source.path)
        if network is not None:
            raise WeightsError(
                f"{source.path.name}: holds a whole pickled network ({network}), not a state "
                "dict of tensors; radiomix reads tensors only (unpickling a network runs "
                "code): where the network was made, save its weights with "
                "torch.save(net.state_dict(), PATH) and pass that file"
            ) from exc
        raise WeightsError(
            f"{source.path.name}: cannot be read as a torch checkpoint of tensors "
            f"({type(exc).__name__}): a damaged or partial download, or not a weight file; "
            "download it again"
        ) from exc
    state = unwrap_checkpoint(obj, source=source.path.name)
    bad = first_non_finite(state)
    if bad is not None:
        raise WeightsError(
            f"{source.path.name}: tensor {bad} holds NaN or infinite values, which would make "
            "every deep feature NaN: the file is damaged or its training diverged; use "
            "another checkpoint"
        )
    negative = first_negative_variance(state)
    if negative is not None:
        name, count, low = negative
        raise WeightsError(
            f"{source.path.name}: batch-norm variance {name} holds {count} negative "
            f"value{'s' if count > 1 else ''} (lowest {low:.6g}); a variance cannot be negative "
            "and its square root would make every deep feature NaN: the file is damaged; use "
            "another checkpoint"
        )
    return state


def first_negative_variance(state: dict[str, Any]) -> tuple[str, int, float] | None:
    """The first batch-norm ``running_var`` of ``state`` (in the file's order) holding a
    negative value, with the number of such values and the lowest; ``None`` when none.

    Batch norm in inference divides by :math:`\\sqrt{\\sigma^2 + \\epsilon}`
    (Ioffe & Szegedy 2015, algorithm 2); a running variance below :math:`-\\epsilon` makes
    that NaN for every input, and any negative variance is a damaged file (a mean of
    squares is never negative).
    """
    for name, tensor in state.items():
        if name.endswith("running_var") and tensor.is_floating_point():
            negative = tensor < 0
            if bool(negative.any()):
                return name, int(negative.sum()), float(tensor.min())
    return None


def pickled_network(path: Path) -> str | None:
    """The class of a whole network pickled with ``torch.save(net)``, read from the pickle's
    opcodes without unpickling it (no code runs); ``None`` for anything else.

    A pickled :class:`torch.nn.Module` names its class first and carries the module
    attributes ``_parameters`` and ``_modules``; a state dict carries neither.
    """
    import io
    import pickletools
    import zipfile

    try:
        if zipfile.is_zipfile(path):  # torch >= 1.6: <name>/data.pkl in a zip archive
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.endswith("/data.pkl")]
                stream = io.BytesIO(archive.read(members[0])) if members else None
            n_pickles = 1
        else:  # legacy format: magic number, protocol, system info, then the object
            stream, n_pickles = io.BytesIO(path.read_bytes()), 4
    except (OSError, zipfile.BadZipFile):
        return None
    if stream is None:
        return None
    names: list[str] = []
    strings: set[str] = set()
    for _ in range(n_pickles):
        recent: list[str] = []
        try:
            for op, arg, _pos in pickletools.genops(stream):
                if op.name == "GLOBAL":
                    names.append(str(arg).replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(recent) >= 2:
                    names.append(".".join(recent[-2:]))
                elif isinstance(arg, str):
                    recent.append(arg)
                    strings.add(arg)
        except ValueError:  # not (or no longer) a pickle: the tensors' raw bytes
            break
    if {"_parameters", "_modules"} <= strings and names:
        return names[0]
    return None


def first_non_finite(state: dict[str, Any]) -> str | None:
    """The name of the first floating-point tensor of ``state`` holding a NaN or an
    infinity (in the file's order), or ``None`` when every value is finite (25 ms for
    ResNet-18's 11 M values)."""
    import torch

    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


@dataclass(frozen=True, slots=True)
class CachedWeights:
    """One published weight file and its state in the cache (``radiomix weights list``).

    Attributes
    ----------
    known : KnownWeights
        The published file.
    path : Path
        Where it is (or would be) in the cache folder.
    size_bytes : int or None
        Size of the cached file, ``None`` when it is not cached.
    verified : str or None
        How the cached file compares with the published one: ``sha256`` or ``hash-prefix``
        (matches), ``mismatch`` (another file under the published name: a run refuses it),
        ``unverified`` (no published hash, read and loaded into its network),
        ``unreadable``, ``other-network`` (its tensors do not fit the network a run builds);
        ``None`` when not cached or not checked.
    """

    known: KnownWeights
    path: Path
    size_bytes: int | None
    verified: str | None = None

    @property
    def cached(self) -> bool:
        """Whether the file is in the cache folder."""
        return self.size_bytes is not None

    @property
    def modes(self) -> tuple[str, ...]:
        """The ``--deep MODEL:MODE`` input modes that use this file."""
        return ("3d",) if self.known.spatial_dims == 3 else ("slices", "max_slice", "2.5d")


def cached_weights(*, verify: bool = False) -> list[CachedWeights]:
    """Every published weight file with its place in :func:`cache_dir` and whether it is there.

    Parameters
    ----------
    verify : bool
        Also check each cached file that has a published hash against it, as a run does
        (:attr:`CachedWeights.verified`). Only the torchvision files carry one (45-98 MB,
        about 0.1 s each to hash); a file without one (MedicalNet) is read and loaded into
        its network as a run does (:func:`radiomix.deep.embed.check_weights`), so that a
        partial download, a damaged file or another network's checkpoint is not shown as
        cached.

    Examples
    --------
    >>> [(w.known.name, w.known.model, w.modes[0]) for w in cached_weights()][::4]
    [('imagenet', 'resnet18', 'slices'), ('medicalnet', 'resnet18', '3d')]
    """
    folder = cache_dir()
    out = []
    for known in KNOWN_WEIGHTS:
        path = folder / known.filename
        size = path.stat().st_size if path.is_file() else None
        verified = None
        if verify and size is not None:
            verified = "unverified"
            try:
                if known.sha256 is not None or known.hash_prefix is not None:
                    verified = verify_file(path, known)[1]
                else:  # read and loaded into its network, as a run does
                    from radiomix.deep.embed import check_weights
                    from radiomix.deep.settings import DeepSettings

                    check_weights(DeepSettings(model=known.model, mode="3d" if
                                               known.spatial_dims == 3 else "slices",
                                               weights=known.name))
            except CheckpointMismatchError:
                verified = "mismatch" if known.sha256 or known.hash_prefix else "other-network"
            except WeightsError:
                verified = "mismatch" if known.sha256 or known.hash_prefix else "unreadable"
            except OSError:
                verified = "unreadable"
        out.append(CachedWeights(known, path, size, verified))
    return out


def identify_weights_file(path: str | Path) -> tuple[KnownWeights, str, str]:
    """Which published file ``path`` is: by its name, else by its SHA-256 prefix.

    Returns
    -------
    known : KnownWeights
    sha256 : str
        The file's SHA-256.
    verified : {"sha256", "hash-prefix", "unverified"}
        How it was checked (MedicalNet files have no published hash: ``unverified``).

    Raises
    ------
    WeightsError
        No such file, its name is a published file's but its digest differs, or it is
        none of the published files.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    by_name = [k for k in KNOWN_WEIGHTS if k.filename == path.name]
    if by_name:
        digest, how = verify_file(path, by_name[0])
        return by_name[0], digest, how
    digest = sha256_file(path)
    for known in KNOWN_WEIGHTS:
        prefix = known.hash_prefix
        if (known.sha256 is not None and digest == known.sha256) or (
            prefix is not None and digest.startswith(prefix)
        ):
            return known, digest, "sha256" if known.sha256 is not None else "hash-prefix"
    names = ", ".join(k.filename for k in KNOWN_WEIGHTS)
    raise WeightsError(
        f"{path.name} (SHA-256 {digest[:16]}...) is none of the published weight files "
        f"({names}); a checkpoint of your own is used with --deep-weights PATH (weights=PATH) "
        "and needs no installing"
    )


def add_weights_file(path: str | Path, *, force: bool = False) -> tuple[CachedWeights, str, bool]:
    """Check a downloaded weight file against its published hash and copy it into the cache.

    Parameters
    ----------
    path : str or Path
        The file, e.g. ``resnet18-f37072fd.pth`` fetched on a machine with network access
        (renamed files are recognised by their hash prefix).
    force : bool
        Replace a different file already cached under the same name.

    Returns
    -------
    entry : CachedWeights
        The cached file.
    verified : str
        ``sha256``, ``hash-prefix`` or ``unverified`` (no published hash).
    copied : bool
        False when the same file was already cached.

    Raises
    ------
    WeightsError
        See :func:`identify_weights_file`; or another file is cached under that name and
        ``force`` is not set.
    """
    import shutil

    known, digest, how = identify_weights_file(path)
    if how == "unverified":  # no published hash: at least a checkpoint of tensors
        state = read_state_dict(
            WeightsSource("file", "file", Path(path).expanduser().resolve(), digest, None, how)
        )
        if not state:
            raise WeightsError(f"{Path(path).name} holds no tensors; download it again")
    folder = cache_dir()
    dst = folder / known.filename
    copied = True
    if dst.is_file() and sha256_file(dst) == digest:
        copied = False
    else:
        if dst.is_file() and not force:
            raise WeightsError(
                f"a different {known.filename} is already in {folder}; pass --force "
                "(force=True) to replace it"
            )
        from radiomix.table import removed_on_failure

        if dst.exists() and not dst.is_file():
            raise UsageError(
                f"{known.filename} in the weight cache {folder} is not a file (a folder?); "
                "remove it and add the file again")
        folder.mkdir(parents=True, exist_ok=True)
        part = dst.with_name(dst.name + ".part")
        with removed_on_failure(part):
            shutil.copyfile(Path(path).expanduser(), part)
            os.replace(part, dst)
        log.info("copied %s to %s (%s)", Path(path).name, dst, how)
    return CachedWeights(known, dst, dst.stat().st_size), how, copied
