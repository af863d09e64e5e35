"""Default model vs ``auto`` search under nested patient-grouped CV, per data set.

Prints, per data set, the outer ROC AUC with its 95 % interval, the calibration slope and
the wall time of the default model for the table (:func:`radiomix.model.default_model_name`:
``penalised_logistic`` when p > n, else ``logistic``) and of ``auto``
(:class:`radiomix.model.AutoClassifier`), and which pipeline ``auto`` chose in each outer
fold. On the synthetic wide table an oracle row (logistic regression on the 5 informative
columns only) gives the ceiling.

Data sets: scikit-learn's breast-cancer table (569 x 30); ``make_classification``
(200 x 100, 5 informative + 5 redundant); a synthetic wide table (100 x 1,000, 5 columns
shifted by 1.25 SD in one class; one per ``--wide-seeds`` draw of the generator); and the
soft-tissue sarcoma cohort (51 patients, label ``lung_mets``, 19 events): a radiomix
feature table (``--sarcoma FEATURES.parquet`` or ``$RADIOMIX_STS_FEATURES``; written by
``radiomix run examples/sts/study.yaml``) of CT, PET and MR-T1 radiomics plus age, sex and
grade (outcome-derived columns dropped). Without the table the sarcoma row is skipped
with a message on stderr.

Progress lines go to stderr; the final table (markdown) to stdout.

Usage::

    .venv/bin/python benchmarks/bench_model.py [--budget 30] [--outer 5] [--seed 0]
        [--datasets breast_cancer classification wide sarcoma] [--wide-seeds 0 1 2]
        [--sarcoma PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from radiomix.evaluate.validate import nested_cv
from radiomix.model import AutoClassifier, build_pipeline, default_model_name

CHOSEN: list[str] = []


class RecordingAuto(AutoClassifier):
    """AutoClassifier that appends its choice to :data:`CHOSEN` (clones share the list)."""

    def fit(self, X: Any, y: Any, groups: Any = None) -> RecordingAuto:
        super().fit(X, y, groups=groups)
        CHOSEN.append(self.chosen_pipeline_)
        return self


def _wide(n: int = 100, p: int = 1000, k: int = 5, shift: float = 1.25, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rng.shuffle(y)
    X = rng.normal(size=(n, p))
    X[:, :k] += shift * y[:, None]
    return X, y


SARCOMA_ENV = "RADIOMIX_STS_FEATURES"
"""Environment variable naming the sarcoma feature table when ``--sarcoma`` is not given."""

SARCOMA_MODALITIES = ("ct", "ct2d", "ct_ring", "pet", "mr_t1")
"""Column prefixes (image tags) of the sarcoma cohort's radiomic features."""

GRADES = {"Low": 0.0, "Intermediate": 1.0, "High": 2.0}
"""Tumour grade as an ordinal covariate (``N/A`` -> missing, imputed inside the folds)."""


def _sarcoma(path: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """CT + PET + MR-T1 radiomics and clinical covariates of the sarcoma cohort.

    Columns: every numeric ``<tag>.<filter>.<family>.<feature>`` column of the tags in
    :data:`SARCOMA_MODALITIES`, plus ``age``, ``sex`` (male = 1) and ``grade`` (ordinal,
    :data:`GRADES`). Label ``lung_mets``; groups ``patient_id``. Outcome-derived columns
    (``lung_mets_days``, follow-up times) are never features.
    """
    table = pd.read_parquet(path)
    radiomic = [
        c
        for c in table.select_dtypes("number").columns
        if c.split(".")[0] in SARCOMA_MODALITIES and c.count(".") >= 3
    ]
    X = table[radiomic].copy()
    X["age"] = table["age"].astype(float)
    X["sex"] = (table["sex"].astype(str).str.lower() == "male").astype(float)
    X["grade"] = table["grade"].map(GRADES).astype(float)
    return X, table["lung_mets"].to_numpy(int), table["patient_id"].to_numpy()


def _sarcoma_path(arg: str | None) -> str | None:
    """The sarcoma table to use, or None (with the reason on stderr) when it is absent."""
    path = arg or os.environ.get(SARCOMA_ENV)
    if not path:
        print(
            "sarcoma: skipped, no feature table given (pass --sarcoma FEATURES.parquet or set "
            f"{SARCOMA_ENV}; `radiomix run examples/sts/study.yaml --out OUT` writes "
            "OUT/features.parquet from the cohort in shared/data/sts)",
            file=sys.stderr,
        )
        return None
    if not os.path.isfile(path):
        print(f"sarcoma: skipped, {path} does not exist", file=sys.stderr)
        return None
    return path


def datasets(
    names: list[str], sarcoma: str | None, wide_seeds: Sequence[int] = (0,)
) -> dict[str, tuple[Any, Any, Any]]:
    from sklearn.datasets import load_breast_cancer, make_classification

    out: dict[str, tuple[Any, Any, Any]] = {}
    if "breast_cancer" in names:
        X, y = load_breast_cancer(return_X_y=True)
        out["breast_cancer"] = (X, y, np.arange(y.size))
    if "classification" in names:
        X, y = make_classification(
            n_samples=200,
            n_features=100,
            n_informative=5,
            n_redundant=5,
            n_clusters_per_class=1,
            random_state=0,
        )
        out["classification"] = (X, y, np.arange(y.size))
    if "wide" in names:
        for seed in wide_seeds:
            X, y = _wide(seed=seed)
            out["wide_100x1000" + (f"_seed{seed}" if seed else "")] = (X, y, np.arange(y.size))
    if "sarcoma" in names and sarcoma:
        out["sarcoma"] = _sarcoma(sarcoma)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=30, help="auto: candidates drawn")
    ap.add_argument("--outer", type=int, default=5, help="outer folds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--datasets", nargs="+", default=["breast_cancer", "classification", "wide", "sarcoma"]
    )
    ap.add_argument(
        "--wide-seeds", nargs="+", type=int, default=[0], help="draws of the wide generator"
    )
    ap.add_argument(
        "--sarcoma", help=f"feature table (parquet) of the sarcoma cohort (default: ${SARCOMA_ENV})"
    )
    args = ap.parse_args(argv)
    sarcoma = _sarcoma_path(args.sarcoma) if "sarcoma" in args.datasets else None
    warnings.simplefilter("ignore")
    rows = []
    for name, (X, y, g) in datasets(args.datasets, sarcoma, args.wide_seeds).items():
        n, p = len(y), X.shape[1]
        default = default_model_name(int(np.unique(g).size), p)
        arms = {
            default: build_pipeline(default, random_state=args.seed),
            "auto": build_pipeline(
                RecordingAuto(budget=args.budget, random_state=args.seed), random_state=args.seed
            ),
        }
        if name.startswith("wide"):  # the oracle knows the 5 informative columns
            arms["oracle (5 true columns)"] = build_pipeline(
                "logistic", blocks={"clinical": [f"x{i}" for i in range(5)]}
            )
            X = pd.DataFrame(X, columns=[f"x{i}" for i in range(p)])
        for arm, pipe in arms.items():
            CHOSEN.clear()
            t0 = time.perf_counter()
            res = nested_cv(pipe, X, y, groups=g, outer_splits=args.outer, random_state=args.seed)
            wall = time.perf_counter() - t0
            lo, hi = res.ci("roc_auc")
            counts = pd.Series(CHOSEN).value_counts()
            rows.append(
                {
                    "data": name,
                    "n x p": f"{n} x {p}",
                    "model": arm,
                    "AUC [95% CI]": f"{res.estimate('roc_auc'):.3f} [{lo:.3f}, {hi:.3f}]",
                    "cal. slope": f"{res.estimate('calibration_slope'):.2f}",
                    "wall s": f"{wall:.0f}",
                    "chosen (outer folds)": ", ".join(f"{k} x{v}" for k, v in counts.items())
                    or "-",
                }
            )
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=False), file=sys.stderr)
    print(pd.DataFrame(rows).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
