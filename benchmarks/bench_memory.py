"""Peak memory of one extraction: the resident set size of a fresh process, as ``time -v``.

Each case runs in a new interpreter that imports the extraction stack and extracts all
IBSI configuration C families of one image and mask (``radiomix.extraction.extract`` with
preset ``ibsi-C``, what ``bench_ibsi.py`` times); the peak resident set size of that process
(``VmHWM`` of ``/proc/self/status`` at the end: what ``/usr/bin/time -v`` prints as "Maximum
resident set size", without the parent's memory that Linux carries in ``ru_maxrss`` across
``exec``) is printed with that of the imports alone. Linux only.

The ``CLI`` column is the same extraction run as a user runs it, ``radiomix extract IMAGE MASK
--preset ibsi-C -o table.csv`` in a fresh process, table writing included: its "Maximum
resident set size" (``ru_maxrss`` of that child, from ``wait4``; this process is far smaller
than the child, so the RSS it had at fork does not set the maximum).

Cases: the STS CT cases of ``bench_ibsi.py`` and ``large``, a synthetic 512 x 512 x 400 int16
CT (0.8 x 0.8 x 1.5 mm, smooth tissue-like values with noise) with a 300 k-voxel ellipsoidal
ROI, written as an uncompressed NIfTI to a temporary folder (the size issue 14 names).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_memory.py                    # STS_020 and large
    .venv/bin/python benchmarks/bench_memory.py --cases STS_002,STS_048,STS_020,large
    .venv/bin/python benchmarks/bench_memory.py --src /tmp/base/src   # another checkout

Targets of issue 14 (both columns): STS_020 ≤ 300 MiB; the large CT ≤ 1 GiB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("RADIOMIX_DATA", REPO.parent / "shared" / "data"))
STS = ("STS_002", "STS_048", "STS_020")
THREADS = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"), "1")

CHILD = """
import sys
def hwm():  # peak RSS of this process image in KiB (ru_maxrss would include the parent's
    # RSS at fork: Linux keeps it across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
from radiomix.extraction import extract
from radiomix.settings import load_preset
settings = load_preset("ibsi-C")
imported = hwm()
voxels = 0
if sys.argv[1] != "-":
    voxels = extract(sys.argv[1], sys.argv[2], settings=settings, tag="image").provenance[
        "roi_voxels"]
print(voxels, imported, hwm())
"""


def write_large_case(folder: Path, *, shape: tuple[int, int, int] = (400, 512, 512),
                     roi_voxels: int = 300_000, seed: int = 0) -> tuple[Path, Path]:
    """A synthetic int16 CT (z, y, x) and an ellipsoid ROI of about ``roi_voxels`` voxels."""
    import numpy as np
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    z = np.arange(shape[0], dtype=np.float32)[:, None, None]
    y = np.arange(shape[1], dtype=np.float32)[None, :, None]
    x = np.arange(shape[2], dtype=np.float32)[None, None, :]
    body = ((y - 256) / 200) ** 2 + ((x - 256) / 230) ** 2 <= 1
    image = np.where(body, 40.0 + 20 * np.sin(z / 17) + 15 * np.cos(x / 23), -1000.0)
    image = (image + rng.normal(0, 12, shape).astype(np.float32)).astype(np.int16)
    # ellipsoid with semi-axes a (z) and b (y, x) in voxels: volume 4/3 pi a b^2
    b = (roi_voxels * 3 / (4 * np.pi * 0.6)) ** (1 / 3)
    a = 0.6 * b
    roi = ((z - 200) / a) ** 2 + ((y - 240) / b) ** 2 + ((x - 300) / b) ** 2 <= 1
    paths = []
    for arr, name in ((image, "image.nii"), (roi.astype(np.uint8), "mask.nii")):
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing((0.8, 0.8, 1.5))
        sitk.WriteImage(img, str(folder / name))
        paths.append(folder / name)
    return paths[0], paths[1]


def peak_mib(args: list[str], src: Path | None) -> tuple[float, float, int]:
    """Peak RSS of one child process (MiB), its RSS after the imports (MiB), ROI voxels."""
    env = {**os.environ, **THREADS}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True,
                          text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"extraction failed: {proc.stderr.strip().splitlines()[-1:]}")
    voxels, imported, peak = (int(v) for v in proc.stdout.split())
    return peak / 1024, imported / 1024, voxels


def cli_peak_mib(image: Path, mask: Path, out: Path, src: Path | None) -> float:
    """Peak RSS (MiB) of ``radiomix extract IMAGE MASK --preset ibsi-C -o OUT`` (a child)."""
    env = {**os.environ, **THREADS}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-c", "from radiomix.cli import main; main()", "extract",
           str(image), str(mask), "--preset", "ibsi-C", "-o", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read().decode() if proc.stderr else ""  # to EOF: no full pipe
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"radiomix extract failed: {stderr.strip().splitlines()[-1:]}")
    return usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="STS_020,large")
    p.add_argument("--src", type=Path, help="import radiomix from this src folder")
    p.add_argument("--write-large", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.write_large:
        write_large_case(args.write_large)
        return 0
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in (*STS, "large")]
    if unknown:
        p.error(f"unknown case {unknown[0]!r}; valid: {', '.join((*STS, 'large'))}")
    print(f"{'case':<9} {'ROI voxels':>10} {'peak MiB':>9} {'CLI MiB':>8}")
    print(f"{'import':<9} {'':>10} {peak_mib(['-', '-'], args.src)[0]:9.0f}")
    with tempfile.TemporaryDirectory(prefix="radiomix-mem-") as tmp:
        for case in cases:
            if case == "large":  # written by a child: this process stays small
                subprocess.run([sys.executable, __file__, "--write-large", tmp], check=True)
                image, mask = Path(tmp) / "image.nii", Path(tmp) / "mask.nii"
            else:
                folder = DATA_DIR / "sts" / "nifti" / case / "ct"
                image, mask = folder / "image.nii.gz", folder / "mask.nii.gz"
            peak, _, voxels = peak_mib([str(image), str(mask)], args.src)
            cli = cli_peak_mib(image, mask, Path(tmp) / "table.csv", args.src)
            print(f"{case:<9} {voxels:>10,} {peak:9.0f} {cli:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
