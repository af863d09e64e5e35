"""Cohort throughput: ``radiomix run STUDY --jobs 1`` against ``--jobs N``, alternating.

Each run is a fresh ``radiomix run`` process writing a new output folder (every case
computed, nothing reused), timed as a user times it: wall seconds of the command (the
workers forked by the fork server are not the run's children, so their CPU time is not
summed here). Each tree first runs once untimed (numba compiles a tree's kernels on its
first run). The pairs alternate which run
goes first, and the script prints each pair's ratio and the ratio of the medians. With
``--busy`` it also samples the machine's busy cores (``/proc/stat``, every 0.5 s) during
the ``--jobs N`` runs: a core idle before the end means a serial step or a worker waiting.
Each run also reports the core-seconds the whole machine was busy meanwhile (Linux): the
parallel run's extra work over the serial one (its bridge and workers' own imports and
first kernel loads, the passing of cases between processes) plus whatever else ran.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_cohort.py                    # STS study, 5 pairs, N=2
    .venv/bin/python benchmarks/bench_cohort.py --pairs 3 --busy
    git worktree add /tmp/base <commit>                              # before/after:
    .venv/bin/python benchmarks/bench_cohort.py --pairs 3 --baseline-src /tmp/base/src

Target of issue 14: ``--jobs 2`` at least 1.8 times faster than ``--jobs 1`` on 2 idle
cores. The machine's own noise matters: compare medians of several pairs.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from _trees import source_trees  # noqa: E402


def _busy_cores() -> tuple[int, int]:
    """(total, idle) jiffies of all CPUs since boot."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values), values[3] + values[4]


def run_once(
    study: Path, jobs: int, out: Path, *, busy: bool, src: str
) -> tuple[float, float, str]:
    """Wall seconds of one ``radiomix run`` importing radiomix from ``src`` (``PYTHONPATH``,
    which the run's fork server and workers inherit), the core-seconds the whole machine was
    busy meanwhile (``/proc/stat``: the run, its workers and anything else running) and the
    busy-core trace."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(Path(sys.executable).with_name("radiomix")), "run", str(study), "--out",
           str(out), "--jobs", str(jobs), "--quiet"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=src))  # fmt: skip
    trace, last = [], _busy_cores()
    first = last
    n_cpu = os.cpu_count() or 1
    while True:
        try:
            proc.wait(timeout=0.5)  # the wall time is the exit's, not the next sample's
            break
        except subprocess.TimeoutExpired:
            pass
        if busy:
            now = _busy_cores()
            total = now[0] - last[0]
            cores = n_cpu * (total - (now[1] - last[1])) / total if total else 0.0
            trace.append(f"{time.perf_counter() - start:.1f}:{cores:.1f}")
            last = now
    wall = time.perf_counter() - start
    end = _busy_cores()
    used = ((end[0] - first[0]) - (end[1] - first[1])) / os.sysconf("SC_CLK_TCK")
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"radiomix run --jobs {jobs} exited {proc.returncode}: {stderr[-500:]}")
    return wall, used, " ".join(trace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(REPO / "examples" / "sts" / "study.yaml"))
    parser.add_argument("--jobs", type=int, default=2, help="workers of the parallel run")
    parser.add_argument("--pairs", type=int, default=5, help="alternating pairs of runs")
    parser.add_argument("--busy", action="store_true", help="sample busy cores (Linux)")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also run radiomix imported from this src folder (e.g. the src of a git worktree "
        "of an older commit), each pair of runs of this tree followed by the same pair of the "
        "baseline (the order alternating), and print both trees' medians",
    )
    args = parser.parse_args(argv)
    study = Path(args.study)
    if not study.exists():
        parser.error(f"no study file {study}")
    if args.baseline_src is not None and not (args.baseline_src / "radiomix").is_dir():
        parser.error(f"--baseline-src {args.baseline_src} holds no radiomix package")
    trees = source_trees(None if args.baseline_src is None else str(args.baseline_src.resolve()))
    # the bytecode of radiomix's modules, as an installed package has it (pip compiles at
    # install): an editable install writes none where PYTHONDONTWRITEBYTECODE is set, and
    # every process of a run (the run, the fork server, the bridge) would compile them
    for src in trees.values():
        compileall.compile_dir(str(Path(src) / "radiomix"), quiet=1)
    walls = {name: {1: [], args.jobs: []} for name in trees}
    with tempfile.TemporaryDirectory(prefix="bench_cohort_") as tmp:
        # one untimed run per tree: numba caches a tree's kernels by their file paths, so
        # the first run of a tree not run before (a fresh worktree) compiles them all
        for name, src in trees.items():
            wall, _, _ = run_once(study, 1, Path(tmp) / "warm", busy=False, src=src)
            print(f"warm-up ({name}, --jobs 1, untimed): {wall:.2f} s", flush=True)
        for pair in range(args.pairs):
            names = list(trees) if pair % 2 == 0 else list(trees)[::-1]
            for name in names:
                order = [1, args.jobs] if pair % 2 == 0 else [args.jobs, 1]
                for jobs in order:
                    wall, used, trace = run_once(study, jobs, Path(tmp) / f"j{jobs}",
                                                busy=args.busy and jobs > 1, src=trees[name])
                    walls[name][jobs].append(wall)
                    load = os.getloadavg()[0]
                    who = f"{name}, " if len(trees) > 1 else ""
                    print(f"pair {pair + 1} ({who}--jobs {jobs}): {wall:.2f} s wall, {used:.1f} "
                          f"busy core-seconds (whole machine), load {load:.2f}", flush=True)
                    if trace:
                        print(f"  busy cores (s:cores): {trace}", flush=True)
                one, many = walls[name][1][-1], walls[name][args.jobs][-1]
                print(f"pair {pair + 1}{f' ({name})' if len(trees) > 1 else ''}: "
                      f"x{one / many:.2f}", flush=True)
    for name, got in walls.items():
        med1, medn = statistics.median(got[1]), statistics.median(got[args.jobs])
        ratios = sorted(a / b for a, b in zip(got[1], got[args.jobs], strict=True))
        print(f"{name + ': ' if len(trees) > 1 else ''}medians: --jobs 1 {med1:.2f} s, "
              f"--jobs {args.jobs} {medn:.2f} s: x{med1 / medn:.2f} "
              f"(pairs x{ratios[0]:.2f} to x{ratios[-1]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
