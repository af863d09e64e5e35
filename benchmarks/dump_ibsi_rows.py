"""Dump (or compare) the full feature rows of the ``bench_ibsi.py`` cases.

A regression check for kernel work: run it once against a baseline checkout, once against the
working tree, and compare. It calls exactly what the benchmark's radiomix worker times
(``radiomix.extraction.extract`` with preset ``ibsi-C``).

Usage (from the repository root)::

    git worktree add /tmp/base HEAD
    PYTHONPATH=/tmp/base/src .venv/bin/python benchmarks/dump_ibsi_rows.py --out /tmp/base.json
    .venv/bin/python benchmarks/dump_ibsi_rows.py --out /tmp/new.json --compare /tmp/base.json

``--compare`` prints every column whose relative difference exceeds ``--rtol`` (default
1e-12; ``--rtol 0`` asks for equal bits; absolute below 1e-300 counts as equal) and exits 1
if there is any, or if the column sets differ. Runs single-threaded (``THREAD_ENV`` of
``bench_ibsi.py``), so that two runs of one checkout give the same bits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ibsi import CASES, DATA_DIR, THREAD_ENV  # noqa: E402

# One thread, as the benchmark's workers: a multi-threaded BLAS splits np.dot differently
# and moves the last bits of some features between runs.
for _key, _value in THREAD_ENV.items():
    os.environ.setdefault(_key, _value)


def dump(cases: list[str], data: Path) -> dict[str, dict[str, float | None]]:
    """Every feature value of every case (non-finite values as ``None``)."""
    from radiomix.extraction import extract
    from radiomix.settings import load_preset

    settings = load_preset("ibsi-C")
    rows: dict[str, dict[str, float | None]] = {}
    for case in cases:
        folder = data.joinpath(*CASES[case])
        res = extract(
            str(folder / "image.nii.gz"),
            str(folder / "mask.nii.gz"),
            settings=settings,
            tag="image",
        )
        rows[case] = {
            k: (float(v) if v is not None and math.isfinite(float(v)) else None)
            for k, v in res.features.items()
        }
    return rows


def compare(new: dict, old: dict, rtol: float) -> list[str]:
    """Lines describing every difference between two dumps beyond ``rtol``."""
    out = []
    for case in sorted(set(new) | set(old)):
        a, b = new.get(case, {}), old.get(case, {})
        if set(a) != set(b):
            out.append(
                f"{case}: columns differ: +{sorted(set(a) - set(b))} -{sorted(set(b) - set(a))}"
            )
        for k in sorted(set(a) & set(b)):
            x, y = a[k], b[k]
            if x is None or y is None:
                if x is not y:
                    out.append(f"{case} {k}: {x} vs {y}")
                continue
            d = abs(x - y)
            if d > rtol * max(abs(x), abs(y)) and d > 1e-300:
                out.append(f"{case} {k}: {x!r} vs {y!r} (rel {d / max(abs(x), abs(y)):.3g})")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--compare", type=Path)
    p.add_argument("--rtol", type=float, default=1e-12)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--data", type=Path, default=DATA_DIR)
    args = p.parse_args(argv)
    rows = dump([c for c in args.cases.split(",") if c], args.data)
    args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    n = sum(len(r) for r in rows.values())
    print(f"{n} values of {len(rows)} cases written to {args.out}")
    if args.compare:
        diffs = compare(rows, json.loads(args.compare.read_text(encoding="utf-8")), args.rtol)
        print("\n".join(diffs) if diffs else f"all values equal to rtol {args.rtol:g}")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
