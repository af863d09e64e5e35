"""LASSO-Cox with more features than patients: CoxNet (scikit-survival path) timings.

Usage::

    .venv/bin/python benchmarks/bench_survival.py [--sizes 200x20,500x40] [--seeds 5]
        [--lifelines]

For each size (features x patients) and seed, a synthetic cohort with 3 planted features
(log hazard ratio +/-2 per SD, exponential times, exponential censoring) is drawn; the
script times one ``CoxNet().fit`` (path + penalty chosen by its inner 3-fold CV) and one
outer fold of ``survival_cv`` (5 folds), on one BLAS thread, and counts how often the
three planted features are all selected. ``--lifelines`` also times the old lifelines
``LassoCox`` (one fit per penalty of ``--penalties``) and reports the ones that fail.
Goal of issue 13: < 60 s per outer fold on one core for 500 features x 40 patients.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from radiomix.errors import InputError
from radiomix.evaluate.survival import survival_cv
from radiomix.model.survival import CoxNet, LassoCox, survival_target


def cohort(p: int, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, p)), columns=[f"f{i:03d}" for i in range(p)])
    beta = np.zeros(p)
    beta[[0, 1, 2]] = [2.0, -2.0, 2.0]
    event_time = rng.exponential(1 / np.exp(X.to_numpy() @ beta))
    censor = rng.exponential(3.0, size=n)
    return X, np.minimum(event_time, censor), (event_time <= censor).astype(int)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200x20,500x40")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--lifelines", action="store_true")
    ap.add_argument("--penalties", default="0.01,0.1,1.0")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    planted = {"f000", "f001", "f002"}
    with threadpool_limits(limits=1):
        for size in args.sizes.split(","):
            p, n = (int(v) for v in size.split("x"))
            fit_s, fold_s, found, n_sel = [], [], 0, []
            for seed in range(args.seeds):
                X, t, e = cohort(p, n, seed)
                start = time.perf_counter()
                model = CoxNet().fit(X, survival_target(t, e))
                fit_s.append(time.perf_counter() - start)
                found += planted <= set(model.selected_features_)
                n_sel.append(model.n_selected_)
                start = time.perf_counter()
                survival_cv(CoxNet(), X, t, e, groups=np.arange(n), n_splits=5, n_bootstrap=200)
                fold_s.append((time.perf_counter() - start) / 5)
            print(
                f"CoxNet {p} features x {n} patients: fit {np.median(fit_s):.2f} s (max "
                f"{max(fit_s):.2f}), per outer fold {np.median(fold_s):.2f} s (max "
                f"{max(fold_s):.2f}); planted all selected in {found}/{args.seeds}, "
                f"selected median {int(np.median(n_sel))}"
            )
            if args.lifelines:
                X, t, e = cohort(p, n, 0)
                for pen in (float(v) for v in args.penalties.split(",")):
                    start = time.perf_counter()
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            LassoCox(penalizer=pen).fit(X, survival_target(t, e))
                        status = "ok"
                    except InputError as exc:
                        status = f"FAILED ({str(exc)[:60]})"
                    print(
                        f"  lifelines LassoCox penalizer={pen:g}: "
                        f"{time.perf_counter() - start:.1f} s {status}"
                    )


if __name__ == "__main__":
    main()
