"""Where one extraction's time goes: CPU per feature family and per morphology step.

Runs ``radiomix.extraction.extract`` (preset ``ibsi-C``, as ``bench_ibsi.py``'s radiomix
worker) on the benchmark cases in one warm process and times, with process CPU time, the
case's stages (``case:`` loading and checks, processing, all features), every family's
compute call and the morphology steps inside it (mesh, hull candidates, convex hull, PCA,
OMBB, MVEE, Moran/Geary pair sums) and the zone labelling of GLSZM/GLDZM, by wrapping
those functions for the run. The table gives the mean CPU milliseconds per
extraction over ``--runs`` calls (after one untimed call), and the median total.

Whole-case timings on a shared two-core machine move by up to 30 % between runs
(``bench_ibsi.py``); a step's share is steadier, and ``--baseline-src`` puts two trees side
by side: each round runs one process per tree, alternately, ``--rounds`` times, and the
table gives each tree's median over the rounds.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_steps.py --cases STS_002,STS_020 --runs 10
    .venv/bin/python benchmarks/bench_steps.py --cases STS_002 --pause 150  # as interleaved
    git worktree add /tmp/base <commit>
    .venv/bin/python benchmarks/bench_steps.py --baseline-src /tmp/base/src --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _trees import run_alternating, source_trees  # noqa: E402
from bench_ibsi import CASES, DATA_DIR, THREAD_ENV  # noqa: E402

for _key, _value in THREAD_ENV.items():
    os.environ.setdefault(_key, _value)

MORPH_STEPS = (
    "roi_mesh",
    "hull_candidates",
    "convex_hull",
    "pca_eigenvalues",
    "oriented_bounding_box",
    "minimum_volume_enclosing_ellipsoid",
    "spatial_autocorrelation",
)
"""Functions of ``radiomix.features.morphology`` timed on their own."""


def _timed(table: dict[str, list[float]], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            table[name].append(time.process_time() - start)

    return wrapper


def measure(
    cases: list[str], runs: int, evict_mb: int = 0, pause_ms: float = 0.0
) -> dict[str, dict[str, float]]:
    """Mean CPU ms per extraction of each family and step, and the median total.

    ``evict_mb`` > 0 writes that many MB of another array before each timed call (untimed),
    so that every call starts with the CPU caches holding someone else's data, as in
    ``bench_ibsi.py``, where the peers run between two radiomix calls. ``pause_ms`` > 0
    sleeps that long before each call, as the radiomix worker of ``bench_ibsi.py`` waits
    while the peers run: on the virtual machines we measure on, memory left untouched for
    100 ms is slow to touch again (a pause of 100 ms made the next STS_002 extraction 40 %
    slower, more than writing 64 MB; ``benchmarks/README.md``, sixteenth round).
    """
    import numpy as np

    evict = np.zeros(evict_mb << 17)  # float64: 2**17 of them a MB
    import radiomix.extraction as extraction
    import radiomix.features.extract as fx
    import radiomix.features.glszm as glszm
    import radiomix.features.morphology as morph
    from radiomix.settings import load_preset

    table: dict[str, list[float]] = defaultdict(list)
    family_compute = fx.family_compute
    fx.family_compute = lambda fam: _timed(table, fam, family_compute(fam))  # type: ignore[assignment]
    for name in MORPH_STEPS:
        setattr(morph, name, _timed(table, f"morph: {name}", getattr(morph, name)))
    glszm.zones_of = _timed(table, "zones: zones_of", glszm.zones_of)  # type: ignore[assignment]
    for name in ("load_case", "process_case", "compute_features"):
        setattr(extraction, name, _timed(table, f"case: {name}", getattr(extraction, name)))
    extract = extraction.extract

    settings = load_preset("ibsi-C")
    out: dict[str, dict[str, float]] = {}
    for case in cases:
        folder = DATA_DIR.joinpath(*CASES[case])
        image, mask = str(folder / "image.nii.gz"), str(folder / "mask.nii.gz")
        extract(image, mask, settings=settings, tag="image")
        table.clear()
        totals = []
        for _ in range(runs):
            evict += 1.0
            if pause_ms:
                time.sleep(pause_ms / 1000.0)
            start = time.process_time()
            extract(image, mask, settings=settings, tag="image")
            totals.append(time.process_time() - start)
        row = {name: 1000.0 * sum(times) / runs for name, times in table.items()}
        row["total (median)"] = 1000.0 * statistics.median(totals)
        out[case] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--runs", type=int, default=10, help="timed extractions per case")
    parser.add_argument("--baseline-src", help="another tree's src folder, run side by side")
    parser.add_argument("--rounds", type=int, default=3, help="alternating process pairs")
    parser.add_argument(
        "--evict", type=int, default=0, metavar="MB",
        help="write MB megabytes of another array before each call (cold caches, as "
        "between the tools of bench_ibsi.py); default 0",
    )  # fmt: skip
    parser.add_argument(
        "--pause", type=float, default=0.0, metavar="MS",
        help="sleep MS milliseconds before each call (as bench_ibsi.py's worker waits "
        "while the peers run); default 0",
    )  # fmt: skip
    parser.add_argument("--json-out", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if not DATA_DIR.exists():
        print(f"error: the shared data folder {DATA_DIR} is missing", file=sys.stderr)
        return 1
    if args.json_out:
        print(json.dumps(measure(cases, args.runs, args.evict, args.pause)))
        return 0
    trees = source_trees(args.baseline_src)
    rounds = args.rounds if args.baseline_src else 1
    cmd = [sys.executable, __file__, "--cases", ",".join(cases), "--runs", str(args.runs),
           "--evict", str(args.evict), "--pause", str(args.pause), "--json-out"]  # fmt: skip
    results = run_alternating(trees, rounds, cmd)
    for case in cases:
        names = sorted({n for tree in results for res in results[tree] for n in res[case]})
        names.sort(key=lambda n: (n == "total (median)", n))
        print(f"\n{case}: CPU ms per extraction (mean of {args.runs} calls"
              + (f", {args.evict} MB written before each" if args.evict else "")
              + (f", {args.pause:g} ms asleep before each" if args.pause else "")
              + (f"; median of {rounds} rounds per tree" if rounds > 1 else "") + ")")
        print(f"  {'step':<45}" + "".join(f"{t:>12}" for t in trees))
        for name in names:
            cells = []
            for tree in trees:
                values = [res[case][name] for res in results[tree] if name in res[case]]
                cells.append(f"{statistics.median(values):12.2f}" if values else f"{'-':>12}")
            print(f"  {name:<45}" + "".join(cells))
    print(f"\nload average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; one thread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
