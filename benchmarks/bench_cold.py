"""Cold start: package import time and the first extraction in a fresh process.

Every measurement runs in a new interpreter (``sys.executable``), so nothing is warm but the
operating system's file cache:

- ``import radiomix`` and ``import radiomix.extraction`` (the package and the full
  extraction stack: numpy, scipy, SimpleITK, numba, the feature kernels), measured as
  scikit-image does it, with ``python -X importtime``: the cumulative microseconds of the
  module's own line, median over ``--runs`` processes;
- the first extraction of one case in a fresh process, with an empty numba cache
  (``NUMBA_CACHE_DIR`` set to a new temporary folder: every kernel the call needs is
  compiled) and then with that cache filled by the first process (kernels loaded from
  disk), as process CPU seconds and wall seconds, import included, with the number of
  radiomix kernel signatures compiled and loaded from the cache in that process.

``--profile [N]`` also lists the N dispatchers whose compilation took the most CPU in the
empty-cache process (numba's ``numba:compile`` events; exclusive times, so a kernel's nested
helpers and the numba overloads it instantiates, such as ``np.empty`` for one signature,
are listed on their own lines). That process imports numba before its clock starts, so
its ``import_s`` leaves numba out.

``--python`` runs the two extraction processes with another interpreter, such as a fresh
virtual environment with the wheel installed (``pip install --no-deps``); with
``--cache user`` they leave ``NUMBA_CACHE_DIR`` unset and get a new empty ``HOME``, so
numba chooses the cache folder itself: ``__pycache__`` beside the installed kernels when
writable, else ``$HOME/.cache/numba`` (a read-only site-packages).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_cold.py                 # 5 import runs, CT phantom
    .venv/bin/python benchmarks/bench_cold.py --runs 9 --case STS_002 --json out/cold.json
    .venv/bin/python benchmarks/bench_cold.py --python /tmp/venv/bin/python --cache user
    .venv/bin/python benchmarks/bench_cold.py --runs 3 --profile   # + compile CPU per kernel

Targets of issue 14: import of ``radiomix`` ≤ 0.3 s; first call in a fresh environment
≤ 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("RADIOMIX_DATA", REPO.parent / "shared" / "data"))
CASES = {
    "phantom": DATA_DIR / "ibsi1" / "ct_phantom" / "nifti",
    "STS_002": DATA_DIR / "sts" / "nifti" / "STS_002" / "ct",
    "STS_048": DATA_DIR / "sts" / "nifti" / "STS_048" / "ct",
    "STS_020": DATA_DIR / "sts" / "nifti" / "STS_020" / "ct",
}
THREADS = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"), "1")

FIRST_CALL = """
import json, resource, sys, time
profile = {}
if len(sys.argv) > 2:  # --profile: exclusive compile CPU per dispatcher (numba's event API)
    from numba.core import event
    stack = []
    class Listener(event.Listener):
        def on_start(self, ev):
            stack.append([time.process_time(), 0.0])
        def on_end(self, ev):
            start, nested = stack.pop()
            spent = time.process_time() - start
            if stack:
                stack[-1][1] += spent
            f = ev.data["dispatcher"].py_func
            name = f.__module__ + "." + f.__qualname__
            if not f.__module__.startswith("radiomix"):  # numba's own overloads
                name = "numba: " + f.__module__ + "." + f.__qualname__.split(".")[0]
            profile[name] = profile.get(name, 0.0) + spent - nested
    event.register("numba:compile", Listener())
t0 = time.perf_counter()
from radiomix.extraction import extract
from radiomix.settings import load_preset
t1 = time.perf_counter()
d = sys.argv[1]
extract(d + "/image.nii.gz", d + "/mask.nii.gz", settings=load_preset("ibsi-C"), tag="image")
t2 = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
from numba.core.registry import CPUDispatcher
kernels = [v for n, m in list(sys.modules.items()) if n.startswith("radiomix")
           for v in vars(m).values()
           if isinstance(v, CPUDispatcher) and v.py_func.__module__ == n]
print(json.dumps({"import_s": t1 - t0, "call_s": t2 - t1, "wall_s": t2 - t0,
                  "cpu_s": ru.ru_utime + ru.ru_stime,
                  "compiled": sum(sum(k.stats.cache_misses.values()) for k in kernels),
                  "loaded": sum(sum(k.stats.cache_hits.values()) for k in kernels),
                  "profile": sorted(profile.items(), key=lambda kv: -kv[1])}))
"""


def import_us(module: str, env: dict[str, str], python: str) -> int:
    """Cumulative import time of ``module`` in a fresh interpreter (µs, ``-X importtime``)."""
    out = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stderr
    for line in reversed(out.splitlines()):
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no importtime line for {module}")


def first_call(
    case_dir: Path, env: dict[str, str], python: str, profile: bool = False
) -> dict[str, object]:
    out = subprocess.run(
        [python, "-c", FIRST_CALL, str(case_dir), *(["profile"] if profile else [])],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="fresh processes per import timing")
    p.add_argument("--case", choices=sorted(CASES), default="phantom")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--python", default=sys.executable, help="interpreter of every measured process")
    p.add_argument(
        "--cache",
        choices=("env", "user"),
        default="env",
        help="env: NUMBA_CACHE_DIR in a new folder; user: numba's own choice, new empty HOME",
    )
    p.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=12,
        default=0,
        metavar="N",
        help="list the N dispatchers (default 12) whose compilation took the most CPU in the "
        "empty-cache process (exclusive: nested compilations counted where they happen)",
    )
    args = p.parse_args()
    env = {**os.environ, **THREADS}
    result: dict[str, object] = {"python": sys.version.split()[0], "runs": args.runs}
    for module in ("radiomix", "radiomix.extraction"):
        times = [import_us(module, env, args.python) for _ in range(args.runs)]
        result[f"import {module} s"] = statistics.median(times) / 1e6
    with tempfile.TemporaryDirectory(prefix="radiomix-numba-") as cache:
        if args.cache == "env":
            cold_env = {**env, "NUMBA_CACHE_DIR": cache}
        else:
            cold_env = {
                k: v for k, v in env.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")
            }
            cold_env["HOME"] = cache
        labels = ("first call, empty numba cache", "first call, numba cache filled")
        for label in labels:
            profile = bool(args.profile) and label == labels[0]
            result[label] = first_call(CASES[args.case], cold_env, args.python, profile)
    compile_profile = [
        (name, seconds)
        for label in labels
        for name, seconds in result[label].pop("profile")  # type: ignore[union-attr]
    ]
    result["case"] = args.case
    result["interpreter"] = args.python
    result["numba cache"] = args.cache
    if compile_profile:
        total = sum(seconds for _, seconds in compile_profile)
        result["compile CPU s (empty cache)"] = total
    for key, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
            )
        elif isinstance(value, float):
            value = f"{value:.3f}"
        print(f"{key:<34}{value}")
    for name, seconds in compile_profile[: args.profile]:
        print(f"  {seconds:6.2f} s  {name.removeprefix('radiomix.')}")
    if compile_profile:
        result["compile profile"] = compile_profile
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
