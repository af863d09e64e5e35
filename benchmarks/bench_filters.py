"""IBSI 2 response maps on the sarcoma cohort: CPU per case of the phase-3 presets.

Runs ``radiomix.extraction.extract`` with a response-map preset (default
``ibsi2-phase3-CT`` and ``ibsi2-phase3-MR``: tricubic interpolation to 1 mm and the eight
filters of IBSI 2 configurations 2-9, among them a rotation-invariant Laws energy map and
two rotation-invariant Coiflet-3 sub-bands) on the first ``--cases`` patients of the
cohort, in one warm process per preset and tree, and prints the process CPU seconds per
case (median of ``--runs`` calls after one untimed call). With ``--baseline-src`` each
round runs one process per tree, alternately, ``--rounds`` times, and the table gives each
tree's median over the rounds and their ratio.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_filters.py --cases 3 --runs 2
    git worktree add /tmp/base <commit>
    .venv/bin/python benchmarks/bench_filters.py --baseline-src /tmp/base/src --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _trees import run_alternating, source_trees  # noqa: E402
from bench_ibsi import DATA_DIR, THREAD_ENV  # noqa: E402

for _key, _value in THREAD_ENV.items():
    os.environ.setdefault(_key, _value)

PRESETS = {"ibsi2-phase3-CT": "ct", "ibsi2-phase3-MR": "mr_t1", "ibsi2-phase3-PET": "pet"}
"""Preset -> the cohort's image folder it is made for."""


def measure(preset: str, n_cases: int, runs: int) -> dict[str, float]:
    """CPU seconds per case (median of ``runs`` calls after one untimed call)."""
    from radiomix.extraction import extract
    from radiomix.settings import load_preset

    settings = load_preset(preset)
    folders = sorted((DATA_DIR / "sts" / "nifti").glob("STS_*"))[:n_cases]
    out = {}
    for folder in folders:
        case = folder / PRESETS[preset]
        args = (str(case / "image.nii.gz"), str(case / "mask.nii.gz"))
        extract(*args, settings=settings, tag="image")
        times = []
        for _ in range(runs):
            start = time.process_time()
            extract(*args, settings=settings, tag="image")
            times.append(time.process_time() - start)
        out[folder.name] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="ibsi2-phase3-CT,ibsi2-phase3-MR",
                        help=f"comma-separated presets among {', '.join(PRESETS)}")
    parser.add_argument("--cases", type=int, default=3, help="first N patients (default 3)")
    parser.add_argument("--runs", type=int, default=2, help="timed calls per case")
    parser.add_argument("--baseline-src", help="another tree's src folder, run side by side")
    parser.add_argument("--rounds", type=int, default=2, help="alternating process pairs")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    presets = [p for p in args.presets.split(",") if p]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    if not (DATA_DIR / "sts" / "nifti").is_dir():
        print(f"error: the sarcoma cohort is missing under {DATA_DIR}", file=sys.stderr)
        return 1
    if args.json_out:
        print(json.dumps(measure(args.json_out, args.cases, args.runs)))
        return 0
    trees = source_trees(args.baseline_src)
    rounds = args.rounds if args.baseline_src else 1
    for preset in presets:
        cmd = [sys.executable, __file__, "--cases", str(args.cases), "--runs", str(args.runs),
               "--json-out", preset]  # fmt: skip
        results = run_alternating(trees, rounds, cmd)
        print(f"\n{preset}: CPU s per case (median of {args.runs} calls"
              + (f"; median of {rounds} rounds per tree)" if rounds > 1 else ")"))
        header = "".join(f"{t:>12}" for t in trees)
        print(f"  {'case':<10}{header}" + (f"{'ratio':>9}" if len(trees) > 1 else ""))
        totals = dict.fromkeys(trees, 0.0)
        for case in results["radiomix"][0]:
            cells = {t: statistics.median(res[case] for res in results[t]) for t in trees}
            for t in trees:
                totals[t] += cells[t]
            ratio = (f"{cells['baseline'] / cells['radiomix']:9.2f}" if len(trees) > 1 else "")
            print(f"  {case:<10}" + "".join(f"{cells[t]:12.2f}" for t in trees) + ratio)
        ratio = (f"{totals['baseline'] / totals['radiomix']:9.2f}" if len(trees) > 1 else "")
        print(f"  {'all':<10}" + "".join(f"{totals[t]:12.2f}" for t in trees) + ratio)
    print(f"\nload average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; one thread"
          + ("; ratio = baseline / radiomix (> 1: this tree faster)" if len(trees) > 1 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
