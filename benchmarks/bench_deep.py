"""Deep-feature throughput on the STS cohort CT (CPU): lesions and slices per minute per mode.

Usage::

    .venv/bin/python benchmarks/bench_deep.py [--cases 10] [--modes 2.5d,max_slice,slices,3d]
        [--threads 2] [--weights random|imagenet|PATH] [--batch-size 16]
        [--precision float64|float32]

Times cover crop sampling, intensity mapping and inference (network built and NIfTI read
beforehand, reported separately). Wall-clock rates depend on what else runs on the
machine; the CPU seconds per lesion (all threads together) do much less so, and with
``--threads 2`` on two otherwise idle cores the wall time is at most that figure.
Goal of issue 5: >= 50 lesions/min in ``2.5d`` mode on 2 cores. Random weights by default
(no download needed); pass ``--weights imagenet`` when the file is in the cache.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.deep import DeepEmbedder, DeepSettings

DATA = Path(
    os.environ.get("RADIOMIX_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def load_cases(n: int) -> list[tuple[str, np.ndarray, np.ndarray, tuple[float, float, float]]]:
    root = DATA / "sts" / "nifti"
    cases = []
    for folder in sorted(root.glob("STS_*"))[:n]:
        img = sitk.ReadImage(str(folder / "ct" / "image.nii.gz"))
        msk = sitk.ReadImage(str(folder / "ct" / "mask.nii.gz"))
        image = sitk.GetArrayFromImage(img).astype(np.float64)
        mask = sitk.GetArrayFromImage(msk) > 0
        spacing = tuple(float(s) for s in reversed(img.GetSpacing()))
        cases.append((folder.name, image, mask, spacing))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--modes", default="2.5d,max_slice,3d,slices")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--weights", default="random")
    ap.add_argument("--intensity", default="ct_soft_tissue")
    ap.add_argument("--precision", default="float64", choices=("float64", "float32"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    cases = load_cases(args.cases)
    n_slices = sum(int(m.any(axis=(1, 2)).sum()) for _, _, m, _ in cases)
    print(
        f"{len(cases)} STS CT cases ({n_slices} ROI slices) read in "
        f"{time.perf_counter() - t0:.1f} s; model {args.model}, weights {args.weights}, "
        f"{args.threads} thread(s), batch {args.batch_size}, {args.precision}"
    )
    for mode in args.modes.split(","):
        weights = args.weights
        if mode == "3d" and weights == "imagenet":
            weights = "random"  # ImageNet weights are 2D; MedicalNet needs its own file
            print("      3d: ImageNet weights are 2D, using random weights")
        t0 = time.perf_counter()
        emb = DeepEmbedder(
            DeepSettings(
                model=args.model,
                mode=mode,  # type: ignore[arg-type]
                weights=weights,
                intensity=args.intensity,
                num_threads=args.threads,
                batch_size=args.batch_size,
                precision=args.precision,
            )
        )
        build = time.perf_counter() - t0
        emb.embed_arrays(*cases[0][1:])  # warm-up (oneDNN primitive creation)
        t0, c0 = time.perf_counter(), time.process_time()
        rows = 0
        for name, image, mask, spacing in cases:
            rows += len(emb.embed_arrays(image, mask, spacing, ids={"patient_id": name}))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        line = (
            f"{mode:>10}: {len(cases) / dt * 60:8.1f} lesions/min"
            f"  ({dt / len(cases):.2f} s/lesion wall, {cpu / len(cases):.2f} CPU-s/lesion,"
            f" build {build:.1f} s)"
        )
        if mode == "slices":
            line += (
                f"  {rows / dt * 60:8.1f} slices/min ({rows} slices, {cpu / rows:.2f} CPU-s/slice)"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
