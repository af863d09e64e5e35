"""IBSI feature extraction: radiomix against peer tools, side by side, in one run.

Each tool runs in its own virtual environment, in one warm worker process (the scripts in
``benchmarks/_peers``; JSON lines over stdin/stdout). radiomix never imports a peer. For every
tool and case the script makes one untimed warm-up call, then ``--runs`` timed calls,
interleaved: each repetition visits every case and, within a case, every tool (the tool order
rotates between repetitions), so machine noise falls on all tools alike. A timed call is one
extraction from the NIfTI files: loading, preprocessing and features, as the worker measures
it (no process start, no pipe). Workers run with one thread (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS`` = 1, and the tools' own
thread settings).

Processing, as close to IBSI configuration C as each tool allows (the CT phantom) and the
same for the STS CT cases: 2 mm isotropic trilinear interpolation, re-segmentation
[-1000, 400] HU, fixed bin size 25 HU. nyxus has no IBSI preprocessing (see
``_peers/nyxus_worker.py``): its timings are on the native grid.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_ibsi.py                   # all tools, all cases, 5 runs
    .venv/bin/python benchmarks/bench_ibsi.py --quick           # 1 run, CT phantom only
    .venv/bin/python benchmarks/bench_ibsi.py --tools radiomix,pyradiomics --cases phantom \
        --runs 7 --json out/bench.json
    git worktree add /tmp/base <commit>                         # before/after, one run:
    .venv/bin/python benchmarks/bench_ibsi.py --baseline-src /tmp/base/src
    .venv/bin/python benchmarks/bench_ibsi.py --scaling --runs 5  # cost vs ROI size

Scaling (``--scaling``): one CT (STS_020's, 3.8 M voxels) and masks of 1 k to 1 M voxels,
each the voxels nearest to the centre of the CT's lesion (balls grown from the lesion
centre, clipped by the image), written to a temporary folder; radiomix only unless
``--tools`` names peers. The table then gives the time per ROI voxel and the log-log slope
of median CPU time against ROI voxels (least squares over the sizes; 1 means linear).

Peers live in ``$RADIOMIX_PEERS`` (default ``~/.cache/radiomix-peers``), one venv per tool,
made by the installers in ``../shared/bench``; a tool whose venv is missing is reported as
"not installed" and skipped. Ratios are peer time / radiomix time: above 1 means radiomix is
faster.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS_DIR = Path(os.environ.get("RADIOMIX_PEERS", Path.home() / ".cache" / "radiomix-peers"))
DATA_DIR = Path(os.environ.get("RADIOMIX_DATA", REPO.parent / "shared" / "data"))

THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

PROCESSING: dict[str, Any] = {
    "spacing_mm": [2.0, 2.0, 2.0],
    "interpolation": "linear",
    "resegment": [-1000.0, 400.0],
    "bin_width": 25.0,
}
"""IBSI configuration C processing, given to every worker to map onto its tool."""

CASES: dict[str, tuple[str, ...]] = {
    "phantom": ("ibsi1", "ct_phantom", "nifti"),
    "STS_002": ("sts", "nifti", "STS_002", "ct"),
    "STS_048": ("sts", "nifti", "STS_048", "ct"),
    "STS_020": ("sts", "nifti", "STS_020", "ct"),
}
"""Case name -> folder under the data directory holding ``image.nii.gz`` and ``mask.nii.gz``."""

SCALING_IMAGE: tuple[str, ...] = ("sts", "nifti", "STS_020", "ct")
"""Folder (under the data directory) of the CT and lesion mask of the scaling cases."""

SCALING_VOXELS: tuple[int, ...] = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
"""ROI sizes (voxels of the original grid) of the scaling cases."""


@dataclass(frozen=True)
class ToolSpec:
    """How to start one tool's worker."""

    name: str
    venv: str | None  # folder under PEERS_DIR; None: radiomix's own interpreter
    worker: str
    options: dict[str, Any] = field(default_factory=dict)
    default: bool = True
    src: str | None = None  # radiomix only: import radiomix from this src folder instead

    def python(self, peers: Path) -> Path:
        """The interpreter that runs this tool's worker."""
        if self.venv is None:
            own = REPO / ".venv" / "bin" / "python"
            return own if own.exists() else Path(sys.executable)
        return peers / self.venv / "bin" / "python"


TOOLS: dict[str, ToolSpec] = {
    t.name: t
    for t in (
        ToolSpec("radiomix", None, "radiomix_worker.py", {"preset": "ibsi-C"}),
        ToolSpec("pictologics", "pictologics312", "pictologics_worker.py"),
        ToolSpec("pyradiomics", "pyrad", "pyradiomics_worker.py"),
        ToolSpec("nyxus", "nyxus", "nyxus_worker.py", {"ibsi": False}),
        # Optional variants (not run unless named in --tools):
        ToolSpec(
            "radiomix-nomorph",
            None,
            "radiomix_worker.py",
            {"preset": "ibsi-C", "exclude_families": ["morph"]},
            default=False,
        ),
        ToolSpec("nyxus-ibsi", "nyxus", "nyxus_worker.py", {"ibsi": True}, default=False),
    )
}


class WorkerError(RuntimeError):
    """A worker died, timed out or answered something unreadable."""


class Worker:
    """One tool's warm process, spoken to in JSON lines."""

    def __init__(self, spec: ToolSpec, python: Path, log_path: Path) -> None:
        self.spec = spec
        self.python = python
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()

    def start(self) -> None:
        env = {**os.environ, **THREAD_ENV, "PYTHONUNBUFFERED": "1"}
        env.pop("PYTHONPATH", None)  # each venv sees only its own packages
        if self.spec.src is not None:  # radiomix of another checkout (e.g. a git worktree)
            env["PYTHONPATH"] = self.spec.src
        log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 (lives with the worker)
        self.proc = subprocess.Popen(
            [str(self.python), str(HERE / "_peers" / self.spec.worker)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=str(HERE / "_peers"),
            start_new_session=True,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerError("worker is not running")
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkerError(f"worker exited (see {self.log_path})") from exc
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise WorkerError(f"no answer within {timeout:g} s (worker stopped)") from None
        if line is None:
            raise WorkerError(f"worker exited (see {self.log_path})")
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerError(f"unreadable answer {line[:200]!r}") from exc

    def stop(self) -> None:
        """Ask the worker to quit; kill its own process group if it does not."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, 9)  # the session this script started for the worker
                self.proc.wait()
        self.proc = None


@dataclass
class Cell:
    """Measurements of one tool on one case."""

    tool: str
    case: str
    first_s: float | None = None
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    n_features: int | None = None
    n_nonfinite: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def scaling_names() -> list[str]:
    """Case names of the scaling list: ``ball_1k`` ... ``ball_1M``."""

    def short(n: int) -> str:
        return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"

    return [f"ball_{short(n)}" for n in SCALING_VOXELS]


def scaling_cases(data: Path, folder: Path) -> dict[str, tuple[str, str]]:
    """Write the scaling masks into ``folder``; return ``{case: (image, mask)}``.

    Each mask holds the ``n`` voxels of the CT nearest (in mm) to the centre of the CT's
    lesion mask (ties at the boundary distance broken by raster order), on the CT's grid.
    """
    import numpy as np
    import SimpleITK as sitk

    src = data.joinpath(*SCALING_IMAGE)
    image, lesion = src / "image.nii.gz", src / "mask.nii.gz"
    if not (image.exists() and lesion.exists()):
        raise SystemExit(f"scaling: {image} or {lesion} not found (set --data)")
    ref = sitk.ReadImage(str(lesion))
    les = sitk.GetArrayFromImage(ref) > 0
    sp = np.asarray(ref.GetSpacing()[::-1], dtype=np.float64)  # (z, y, x)
    centre = np.argwhere(les).mean(axis=0)
    axes = [(np.arange(n) - c) * s for n, c, s in zip(les.shape, centre, sp, strict=True)]
    dist2 = axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2
    order = np.argsort(dist2, axis=None, kind="stable")
    out = {}
    for name, n in zip(scaling_names(), SCALING_VOXELS, strict=True):
        if n > order.size:
            raise SystemExit(f"scaling: {n} voxels do not fit in the CT ({order.size})")
        flat = np.zeros(order.size, dtype=np.uint8)
        flat[order[:n]] = 1
        mask = sitk.GetImageFromArray(flat.reshape(les.shape))
        mask.CopyInformation(ref)
        path = folder / f"{name}_mask.nii.gz"
        sitk.WriteImage(mask, str(path))
        out[name] = (str(image), str(path))
    return out


def scaling_summary(result: dict[str, Any], tool: str = "radiomix") -> list[str]:
    """Time per ROI voxel of each scaling case and the log-log slope of CPU time vs voxels."""
    import numpy as np

    rows = [
        r
        for r in result["results"]
        if r["tool"] == tool and r.get("status") == "ok" and r.get("cpu_median_s")
    ]
    pts = [(r["notes"].get("roi_voxels") or 0, r["cpu_median_s"], r["case"]) for r in rows]
    pts = [p for p in pts if p[0] > 0]
    if len(pts) < 2:
        return []
    lines = [f"scaling ({tool}): ROI voxels, median CPU s, CPU us per voxel"]
    for n, t, case in sorted(pts):
        lines.append(f"    {case:<10}{n:>10}{t:>10.3f}{1e6 * t / n:>10.2f}")
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    slope = float(np.polyfit(x, y, 1)[0])
    big = [p for p in pts if p[0] >= 30_000]
    tail = ""
    if len(big) >= 2:
        xb = np.log([p[0] for p in big])
        yb = np.log([p[1] for p in big])
        tail = f"; {float(np.polyfit(xb, yb, 1)[0]):.2f} from 30 k voxels up"
    lines.append(f"    log-log slope of CPU time vs ROI voxels: {slope:.2f}{tail} (target <= 1.1)")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Tools: " + ", ".join(TOOLS) + ". Cases: " + ", ".join(CASES) + ".",
    )
    p.add_argument("--runs", type=int, default=5, help="timed runs per tool and case (default 5)")
    default_tools = ",".join(t.name for t in TOOLS.values() if t.default)
    p.add_argument(
        "--tools",
        help=f"comma-separated tools (default: {default_tools}; radiomix with --scaling)",
    )
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated cases (default: all)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 run, CT phantom only (with --scaling: 1 run of the scaling list)",
    )
    p.add_argument(
        "--scaling",
        action="store_true",
        help="cost vs ROI size: one CT, masks of 1 k to 1 M voxels (radiomix only unless "
        "--tools says otherwise); prints time per voxel and the log-log slope",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--data", type=Path, default=DATA_DIR, help="shared data folder")
    p.add_argument(
        "--radiomix-src",
        type=Path,
        help="import the 'radiomix' tool from this src folder (default: the installed one)",
    )
    p.add_argument(
        "--baseline-src",
        type=Path,
        help="also time radiomix imported from this src folder (e.g. the src of a git "
        "worktree of an older commit) as tool 'radiomix-base', interleaved with the others",
    )
    p.add_argument("--peers", type=Path, default=PEERS_DIR, help="folder of the peers' venvs")
    p.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per extraction call"
    )
    p.add_argument(
        "--startup-timeout",
        type=float,
        default=1800.0,
        help="seconds allowed for a worker's imports (pictologics compiles numba on first use)",
    )
    args = p.parse_args(argv)
    if args.tools is None:
        args.tools = "radiomix" if args.scaling else default_tools
    if args.scaling:
        args.cases = ",".join(scaling_names())
    if args.quick:
        args.runs = 1
        if not args.scaling:
            args.cases = "phantom"
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if args.radiomix_src is not None:
        src = args.radiomix_src.resolve()
        if not (src / "radiomix" / "__init__.py").exists():
            p.error(f"--radiomix-src {src} holds no radiomix package")
        TOOLS["radiomix"] = dataclasses.replace(TOOLS["radiomix"], src=str(src))
    if args.baseline_src is not None:
        src = args.baseline_src.resolve()
        if not (src / "radiomix" / "__init__.py").exists():
            p.error(f"--baseline-src {src} holds no radiomix package")
        TOOLS["radiomix-base"] = ToolSpec(
            "radiomix-base", None, "radiomix_worker.py", {"preset": "ibsi-C"}, src=str(src)
        )
        args.tools.append("radiomix-base")
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for t in args.tools:
        if t not in TOOLS:
            p.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    for c in args.cases:
        if c not in CASES and not (args.scaling and c in scaling_names()):
            p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the workers, warm them up, time the interleaved runs; return the results."""
    logdir = Path(tempfile.mkdtemp(prefix="bench_ibsi_"))
    case_paths = {}
    if args.scaling:
        case_paths = scaling_cases(args.data, logdir)
    for c in args.cases:
        if c in case_paths:
            continue
        folder = args.data.joinpath(*CASES[c])
        image, mask = folder / "image.nii.gz", folder / "mask.nii.gz"
        if not (image.exists() and mask.exists()):
            raise SystemExit(f"case {c}: {image} or {mask} not found (set --data)")
        case_paths[c] = (str(image), str(mask))

    tools: dict[str, dict[str, Any]] = {}
    workers: dict[str, Worker] = {}
    for name in args.tools:
        spec = TOOLS[name]
        python = spec.python(args.peers)
        entry: dict[str, Any] = {"status": "ok", "executable": str(python), "options": spec.options}
        tools[name] = entry
        if not python.exists():
            entry["status"] = "not installed"
            log(f"{name}: not installed ({python} missing), skipped")
            continue
        w = Worker(spec, python, logdir / f"{name}.log")
        w.start()
        log(f"{name}: starting worker ({python})")
        t0 = time.perf_counter()
        try:
            ans = w.request({"op": "info"}, args.startup_timeout)
        except WorkerError as exc:
            ans = {"ok": False, "error": str(exc)}
        entry["import_s"] = time.perf_counter() - t0
        if not ans.get("ok"):
            entry["status"] = "failed"
            entry["error"] = ans.get("error")
            log(f"{name}: failed to start: {ans.get('error')} (log {w.log_path})")
            w.stop()
            continue
        entry.update({k: ans[k] for k in ("version", "python", "notes") if k in ans})
        workers[name] = w

    cells = {(t, c): Cell(t, c) for t in workers for c in args.cases}

    def call(tool: str, case: str) -> dict[str, Any] | None:
        cell = cells[(tool, case)]
        image, mask = case_paths[case]
        req = {
            "op": "run",
            "image": image,
            "mask": mask,
            "processing": PROCESSING,
            "options": TOOLS[tool].options,
        }
        w = workers[tool]
        try:
            if w.proc is None:  # stopped after a timeout on another case: start it again
                w.start()
                w.request({"op": "info"}, args.startup_timeout)
                w.request(req, args.timeout)  # untimed warm-up of this case in the new process
            ans = w.request(req, args.timeout)
        except WorkerError as exc:
            ans = {"ok": False, "error": str(exc)}
        if not ans.get("ok"):
            cell.error = ans.get("error", "unknown error")
            log(f"  {tool} / {case}: FAILED: {cell.error} (log {w.log_path})")
            return None
        cell.n_features = ans["n_features"]
        cell.n_nonfinite = ans["n_nonfinite"]
        cell.notes = ans.get("notes") or {}
        return ans

    load_start = os.getloadavg()
    log(f"warm-up: one untimed call per tool and case (logs in {logdir})")
    for case in args.cases:
        for tool in workers:
            first = call(tool, case)
            if first is not None:
                cells[(tool, case)].first_s = first["seconds"]
                log(f"  {tool:<16} {case:<8} first call {first['seconds']:8.3f} s")

    order = list(workers)
    for rep in range(args.runs):
        log(f"run {rep + 1}/{args.runs}")
        rot = order[rep % len(order) :] + order[: rep % len(order)] if order else []
        for case in args.cases:
            for tool in rot:
                timed = cells[(tool, case)]
                if timed.error:
                    continue
                got = call(tool, case)
                if got is not None:
                    timed.times.append(got["seconds"])
                    timed.cpu.append(got["cpu_seconds"])
                    log(f"  {tool:<16} {case:<8} {got['seconds']:8.3f} s")
    load_end = os.getloadavg()
    for w in workers.values():
        w.stop()

    rows = []
    for name in args.tools:
        for case in args.cases:
            cell = cells.get((name, case))
            ref = cells.get(("radiomix", case))
            row: dict[str, Any] = {"tool": name, "case": case}
            if cell is None:
                row["status"] = tools[name]["status"]
                rows.append(row)
                continue
            med = cell.median
            cpu_med = statistics.median(cell.cpu) if cell.cpu else None
            ref_cpu = statistics.median(ref.cpu) if ref is not None and ref.cpu else None
            ratio = med / ref.median if med is not None and ref is not None and ref.median else None
            cpu_ratio = cpu_med / ref_cpu if cpu_med is not None and ref_cpu else None
            row.update(
                {
                    "status": "failed" if cell.error else "ok",
                    "error": cell.error,
                    "n_features": cell.n_features,
                    "n_nonfinite": cell.n_nonfinite,
                    "median_s": med,
                    "min_s": min(cell.times) if cell.times else None,
                    "max_s": max(cell.times) if cell.times else None,
                    "cpu_median_s": cpu_med,
                    "first_call_s": cell.first_s,
                    "cpu_per_wall": (
                        statistics.median(c / t for c, t in zip(cell.cpu, cell.times, strict=True))
                        if cell.times
                        else None
                    ),
                    "ratio_vs_radiomix": ratio,
                    "cpu_ratio_vs_radiomix": cpu_ratio,
                    "times_s": cell.times,
                    "notes": cell.notes,
                }
            )
            rows.append(row)
    return {
        "benchmark": "IBSI feature extraction, configuration C processing",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "runs": args.runs,
        "cases": {c: {"image": case_paths[c][0], "mask": case_paths[c][1]} for c in args.cases},
        "processing": PROCESSING,
        "thread_env": THREAD_ENV,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": load_end,
        },
        "tools": tools,
        "results": rows,
        "worker_logs": str(logdir),
    }


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table(result: dict[str, Any]) -> str:
    """The results as a plain-text table, followed by each tool's processing notes."""
    head = ("tool", "case", "features", "median s", "min s", "1st s", "cpu s", "cpu/wall")
    lines = [
        f"{head[0]:<17}{head[1]:<9}{head[2]:>9}{head[3]:>10}{head[4]:>8}{head[5]:>8}"
        f"{head[6]:>8}{head[7]:>9}{'x radiomix':>11}{'x (cpu)':>9}"
    ]
    lines.append("-" * len(lines[0]))
    for r in result["results"]:
        if r["status"] != "ok":
            why = r.get("error") or ""
            lines.append(f"{r['tool']:<17}{r['case']:<9}  {r['status']}{': ' + why if why else ''}")
            continue
        lines.append(
            f"{r['tool']:<17}{r['case']:<9}{r['n_features']:>9}{_fmt(r['median_s'], '.3f'):>10}"
            f"{_fmt(r['min_s'], '.3f'):>8}{_fmt(r['first_call_s'], '.3f'):>8}"
            f"{_fmt(r['cpu_median_s'], '.3f'):>8}{_fmt(r['cpu_per_wall'], '.2f'):>9}"
            f"{_fmt(r['ratio_vs_radiomix'], '.2f'):>11}{_fmt(r['cpu_ratio_vs_radiomix'], '.2f'):>9}"
        )
    lines.append("")
    lines.append(
        f"median of {result['runs']} interleaved runs per cell, one thread, warm process, "
        "loading + preprocessing + features; x radiomix = tool median / radiomix median "
        "(> 1: radiomix faster); x (cpu) = the same ratio on median process CPU time, "
        "steadier than wall time when other processes compete for the cores (cpu/wall < 1)"
    )
    m = result["machine"]
    lines.append(
        f"machine: {m['platform']}, {m['cpu_count']} CPUs, load average "
        f"{m['loadavg_start'][0]:.2f} -> {m['loadavg_end'][0]:.2f}"
    )
    for name, t in result["tools"].items():
        if t["status"] == "ok":
            opts = f", options {json.dumps(t['options'])}" if t.get("options") else ""
            lines.append(f"{name} {t.get('version', '?')} (Python {t.get('python', '?')}{opts}):")
            lines.extend(f"    {n}" for n in t.get("notes", []))
        else:
            lines.append(f"{name}: {t['status']}{': ' + t['error'] if t.get('error') else ''}")
    approx = {
        (r["tool"], r["case"]): r["notes"]["morph.moran_i"]
        for r in result["results"]
        if r.get("notes", {}).get("morph.moran_i")
    }
    if approx:
        lines.append("radiomix provenance notes (Moran's I / Geary's C):")
        lines.extend(f"    {t} / {c}: {n}" for (t, c), n in approx.items())
    for tool in result["tools"]:
        if any(r["case"].startswith("ball_") for r in result["results"]):
            lines.extend(scaling_summary(result, tool))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        log(f"results written to {args.json}")
    return 0 if all(r["status"] in ("ok", "not installed") for r in result["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
