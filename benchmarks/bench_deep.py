"""Deep-feature throughput on the STS cohort CT (CPU): lesions/min, float32 against float64.

Usage::

    .venv/bin/python benchmarks/bench_deep.py [--cases 5] [--modes 2.5d,slices]
        [--precisions float32,float64] [--runs 3] [--threads 2] [--batch-size 16]
        [--weights random|imagenet|PATH] [--model resnet18]

For each mode and precision one :class:`radiomix.deep.DeepEmbedder` is built and warmed up
beforehand (network construction and the NIfTI reading are not timed). A timed pass embeds
the ``--cases`` lesions two ways:

- *per lesion*: ``embed_arrays`` one lesion after the other (as the cohort runner does;
  one image per forward pass in ``2.5d``, ``max_slice`` and ``3d``, the ROI slices in
  batches of ``--batch-size`` in ``slices``);
- *batched*: ``embed_batch`` over all lesions (``--batch-size`` images per forward pass
  whatever lesion they come from).

Passes are interleaved (run 1: every mode x precision x path, then run 2 ...) and the
median over ``--runs`` is reported, as process CPU seconds (all threads together) and wall
seconds per lesion, with lesions/min from each. On a shared machine the wall figures are
upper bounds and the CPU ones are the guide; with ``--threads 2`` on two otherwise idle
cores the wall time is at most the CPU time. ``ratio`` is float32 lesions/min over float64
lesions/min (issue 14: >= 3 on 2 cores). The last table checks the float32 embeddings
against the float64 ones of the same pass: the largest relative L2 difference per
embedding, against the stated tolerance (``radiomix.deep.settings.FLOAT32_TOLERANCE``).
Crop sampling, intensity mapping and inference are all inside the timings.

Random weights by default (no download needed); ``--weights imagenet`` when the file is in
the cache (3D modes then use random weights: ImageNet files are 2D).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.deep import DeepEmbedder, DeepSettings
from radiomix.deep.settings import FLOAT32_TOLERANCE

DATA = Path(
    os.environ.get("RADIOMIX_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
Case = tuple[str, np.ndarray, np.ndarray, tuple[float, float, float]]


def load_cases(n: int) -> list[Case]:
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


def timed_pass(emb: DeepEmbedder, cases: list[Case], path: str) -> tuple[float, float, np.ndarray]:
    """(CPU s, wall s, embeddings) of one pass over the cases."""
    t0, c0 = time.perf_counter(), time.process_time()
    if path == "per lesion":
        vectors = np.concatenate(
            [
                emb.embed_arrays(im, m, sp).to_numpy(float)[:, -emb.settings.embedding_dim :]
                for _, im, m, sp in cases
            ]
        )
    else:
        df = emb.embed_batch((im, m, sp) for _, im, m, sp in cases)
        vectors = df.to_numpy(float)[:, -emb.settings.embedding_dim :]
    return time.process_time() - c0, time.perf_counter() - t0, vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5)
    ap.add_argument("--modes", default="2.5d,slices")
    ap.add_argument("--precisions", default="float32,float64")
    ap.add_argument("--paths", default="per lesion,batched")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--weights", default="random")
    ap.add_argument("--intensity", default="ct_soft_tissue")
    args = ap.parse_args()
    modes = args.modes.split(",")
    precisions = args.precisions.split(",")
    paths = args.paths.split(",")

    t0 = time.perf_counter()
    cases = load_cases(args.cases)
    n = len(cases)
    n_slices = sum(int(m.any(axis=(1, 2)).sum()) for _, _, m, _ in cases)
    print(
        f"{n} STS CT lesions ({n_slices} ROI slices) read in {time.perf_counter() - t0:.1f} s; "
        f"{args.model}, weights {args.weights}, {args.threads} thread(s), batch "
        f"{args.batch_size}, {args.runs} interleaved runs, load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    embedders: dict[tuple[str, str], DeepEmbedder] = {}
    for mode in modes:
        weights = args.weights
        model = args.model
        if mode == "3d":
            weights = "random" if weights == "imagenet" else weights
            model = "resnet10" if model not in ("resnet10", "resnet18", "resnet34") else model
        for prec in precisions:
            emb = DeepEmbedder(
                DeepSettings(
                    model=model,
                    mode=mode,  # type: ignore[arg-type]
                    weights=weights,
                    intensity=args.intensity,
                    num_threads=args.threads,
                    batch_size=args.batch_size,
                    precision=prec,  # type: ignore[arg-type]
                )
            )
            emb.embed_arrays(*cases[0][1:])  # warm-up (oneDNN primitive creation)
            embedders[mode, prec] = emb

    cpu: dict[tuple[str, str, str], list[float]] = {}
    wall: dict[tuple[str, str, str], list[float]] = {}
    vectors: dict[tuple[str, str, str], np.ndarray] = {}
    for _ in range(args.runs):
        for mode in modes:
            for path in paths:
                for prec in precisions:
                    key = (mode, path, prec)
                    c, w, v = timed_pass(embedders[mode, prec], cases, path)
                    cpu.setdefault(key, []).append(c)
                    wall.setdefault(key, []).append(w)
                    vectors[key] = v

    print(
        f"\n{'mode':>9} {'path':>10} {'precision':>9} | {'CPU s/lesion':>12} {'lesions/min':>11}"
        f" | {'wall s/lesion':>13} {'lesions/min':>11}"
    )
    for mode in modes:
        for path in paths:
            for prec in precisions:
                key = (mode, path, prec)
                c = statistics.median(cpu[key]) / n
                w = statistics.median(wall[key]) / n
                print(
                    f"{mode:>9} {path:>10} {prec:>9} | {c:12.3f} {60 / c:11.1f} | {w:13.3f}"
                    f" {60 / w:11.1f}"
                )
    if {"float32", "float64"} <= set(precisions):
        print("\nfloat32 / float64 lesions/min (CPU; wall), and float32 against float64")
        for mode in modes:
            for path in paths:
                k32, k64 = (mode, path, "float32"), (mode, path, "float64")
                r_cpu = statistics.median(cpu[k64]) / statistics.median(cpu[k32])
                r_wall = statistics.median(wall[k64]) / statistics.median(wall[k32])
                a, b = vectors[k32], vectors[k64]
                rel = np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)
                verdict = "within" if rel.max() <= FLOAT32_TOLERANCE else "OUTSIDE"
                print(
                    f"{mode:>9} {path:>10}: x{r_cpu:.2f} CPU, x{r_wall:.2f} wall; "
                    f"max relative L2 {rel.max():.1e} over {len(rel)} embeddings ({verdict} "
                    f"the stated {FLOAT32_TOLERANCE:.0e})"
                )


if __name__ == "__main__":
    main()
