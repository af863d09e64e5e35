"""``radiomix model``: leakage-free evaluation of a model on a feature + clinical table.

Mounted into :mod:`radiomix.cli` as the command ``model``; also usable on its own through
:data:`app`.

Writes to ``--out``: ``metrics.json`` (metrics with 95 % patient-bootstrap CIs, folds,
settings, versions), ``predictions.csv`` (out-of-sample predictions), ``model.joblib`` (the
final model refitted on all rows, tuned by patient-grouped CV, with versions) and figures
(``roc.png``, ``calibration.png``, ``decision_curve.png``; ``km.png`` for survival).
Exit codes: 0 success, 1 bad input (message printed), 2 usage error.
"""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from radiomix.errors import InputError, RadiomixError
from radiomix.table import read_table

app = typer.Typer(
    help="Evaluate models on feature tables without patient leakage.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
log = logging.getLogger(__name__)

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
SURVIVAL_PENALTIES = (0.01, 0.1, 1.0)
"""Penalties (lifelines ``penalizer``) the inner loop chooses from with ``--tune``."""
MODEL_VERSIONS = ("radiomix", "numpy", "scipy", "pandas", "scikit-learn", "lifelines", "joblib")


class Validation(StrEnum):
    nested = "nested"
    holdout = "holdout"
    external = "external"


class Level(StrEnum):
    row = "row"
    patient = "patient"


def _load(table: Path | None, clinical: Path | None, group: str) -> pd.DataFrame:
    if table is None and clinical is None:
        raise InputError("give --features (feature table), --clinical, or both")
    frames = [(p, read_table(p)) for p in (table, clinical) if p is not None]
    for p, f in frames:
        if group not in f.columns:
            raise InputError(f"{p.name} has no group column {group!r}; set --groups")
    if len(frames) == 1:
        return frames[0][1]
    feat, clin = frames[0][1], frames[1][1]
    dup = clin[group].duplicated()
    if dup.any():
        raise InputError(
            f"clinical table lists patients more than once: {clin.loc[dup, group].tolist()[:5]}"
        )
    overlap = [c for c in clin.columns if c in feat.columns and c != group]
    merged = feat.merge(clin.drop(columns=overlap), on=group, how="left", validate="m:1")
    missing = ~feat[group].isin(clin[group])
    if missing.any():
        log.warning("%d feature rows have no clinical row", int(missing.sum()))
    return merged


def _design(
    frame: pd.DataFrame,
    features: str | None,
    ordinal: list[str],
    exclude: set[str],
) -> pd.DataFrame:
    from radiomix.model.clinical import encode_clinical, parse_ordinal
    from radiomix.model.columns import ID_COLUMNS, is_feature_column, select_columns

    cols = [c for c in frame.columns if c not in exclude and c not in ID_COLUMNS]
    if features:
        chosen = select_columns(cols, features.split(","))
    else:
        chosen = [c for c in cols if is_feature_column(c)]
        if not chosen:
            raise InputError("no feature column found; list the columns with --columns")
    feat_cols = [c for c in chosen if is_feature_column(c)]
    clin_cols = [c for c in chosen if not is_feature_column(c)]
    ords = dict(parse_ordinal(s) for s in ordinal)
    parts = [frame[feat_cols].apply(pd.to_numeric, errors="raise")] if feat_cols else []
    if clin_cols:
        parts.append(encode_clinical(frame, clin_cols, ordinal=ords))
    X = pd.concat(parts, axis=1)
    if X.shape[1] == 0:
        raise InputError("no usable column after encoding")
    return X


def _versions() -> dict[str, str]:
    from radiomix.table import package_versions

    return package_versions(MODEL_VERSIONS)


def _print_metrics(title: str, metrics: pd.DataFrame) -> None:
    t = Table("metric", "estimate", "95 % CI", title=title)
    for _, r in metrics.iterrows():
        label = r["metric"] + (f" @ {r['horizon']:g}" if pd.notna(r.get("horizon", np.nan)) else "")
        t.add_row(label, f"{r['estimate']:.3f}", f"{r['ci_low']:.3f} – {r['ci_high']:.3f}")
    out.print(t)


def _save_fig(fig: Any, path: Path) -> str:
    fig.savefig(path, dpi=120)
    return path.name


@app.command("model")
def model_command(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    table: Annotated[
        Path | None,
        typer.Option(
            "--features",
            help="Feature table (.parquet/.csv, e.g. radiomix run's features.parquet): one "
            "row per lesion or slice, with the --groups column.",
        ),
    ] = None,
    clinical: Annotated[
        Path | None,
        typer.Option(
            help="Clinical table (.csv/.parquet), one row per patient, joined on --groups."
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Outcome column (classes). Give --time and --event instead for survival.",
        ),
    ] = None,
    group: Annotated[
        str,
        typer.Option(
            "--groups", help="Patient id column: every split keeps a patient's rows together."
        ),
    ] = "patient_id",
    features: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Comma list of columns, wildcards (ct.original.glcm.*) or blocks (radiomic, deep, "
            "clinical). Default: every feature column of --features.",
        ),
    ] = None,
    ordinal: Annotated[
        list[str] | None,
        typer.Option(
            help="Ordinal coding COLUMN=LOW,MID,HIGH (repeatable), "
            "e.g. grade=Low,Intermediate,High."
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="knn, logistic, svm, rf, gb, voting, stacking, radscore; survival: cox, lasso-cox."
        ),
    ] = "logistic",
    selector: Annotated[
        str | None,
        typer.Option(
            help="Comma list of selection steps: variance, correlation, fdr, lasso, mrmr."
        ),
    ] = None,
    deep_pca: Annotated[int | None, typer.Option(help="PCA components of the deep block.")] = None,
    tune: Annotated[
        bool,
        typer.Option(
            help="Tune hyper-parameters in the inner loop (survival: the Cox penalty among "
            "0.01, 0.1, 1)."
        ),
    ] = True,
    validation: Annotated[
        Validation,
        typer.Option(
            help="nested (grouped nested CV), holdout (patient 70/30), external (by --centre)."
        ),
    ] = Validation.nested,
    centre: Annotated[str | None, typer.Option(help="Centre column (external validation).")] = None,
    test_centre: Annotated[
        list[str] | None, typer.Option(help="External test centre(s) (repeatable).")
    ] = None,
    outer: Annotated[int, typer.Option(help="Outer folds.")] = 5,
    inner: Annotated[int, typer.Option(help="Inner folds (tuning).")] = 3,
    repeats: Annotated[int, typer.Option(help="Repeats of the outer CV.")] = 5,
    test_size: Annotated[float, typer.Option(help="Hold-out test fraction.")] = 0.3,
    level: Annotated[
        Level, typer.Option(help="Score rows, or patients (mean prediction of their rows).")
    ] = Level.row,
    bootstrap: Annotated[int, typer.Option(help="Patient-bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of splits, bootstrap and models.")] = 0,
    permutations: Annotated[
        int,
        typer.Option(
            help="Also run a permutation test of the CV AUC with this many label permutations "
            "(nested validation, binary outcome; 0 = off)."
        ),
    ] = 0,
    arms: Annotated[
        str | None,
        typer.Option(
            help="Also compare arms on identical patient-grouped nested-CV splits: 'all' or a "
            "comma list of clinical, radiomics, deep, fused, clinical+radscore (built from the "
            "chosen columns; --model is the imaging arms' model; the first arm is the "
            "reference of the tests): arms.csv, arms_tests.csv, roc_arms.png."
        ),
    ] = None,
    time: Annotated[str | None, typer.Option(help="Survival time column.")] = None,
    event: Annotated[str | None, typer.Option(help="Survival event column (1 = event).")] = None,
    horizon: Annotated[
        list[float] | None,
        typer.Option(help="Time-dependent AUC horizon(s), in --time units (repeatable)."),
    ] = None,
) -> None:
    """Evaluate a model with patient-grouped validation; write metrics, predictions, model."""
    survival = time is not None or event is not None
    if survival and (time is None or event is None or label is not None):
        console.print("[red]error[/red]: survival needs --time and --event (and no --target)")
        raise typer.Exit(EXIT_USAGE)
    if not survival and label is None:
        console.print("[red]error[/red]: give --target (or --time and --event)")
        raise typer.Exit(EXIT_USAGE)
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            frame = _load(table, clinical, group)
            out_dir.mkdir(parents=True, exist_ok=True)
            exclude = {group, *(c for c in (label, time, event, centre) if c)}
            X = _design(frame, features, ordinal or [], exclude)
            settings = {
                "table": str(table) if table else None,
                "clinical": str(clinical) if clinical else None,
                "group": group,
                "features": list(X.columns),
                "model": model,
                "selector": selector,
                "seed": seed,
                "tune": tune,
                "validation": None if time is not None else validation.value,
                "arms": arms,
            }
            if time is not None and event is not None:
                ignored = [
                    flag
                    for flag, used in (
                        ("--arms", arms is not None),
                        ("--validation", validation is not Validation.nested),
                        ("--selector", selector is not None),
                        ("--permutations", permutations > 0),
                        ("--level", level is not Level.row),
                        ("--deep-pca", deep_pca is not None),
                    )
                    if used
                ]
                if ignored:
                    raise InputError(
                        f"{', '.join(ignored)} apply to classification; the survival analysis "
                        "(--time/--event) is a patient-grouped nested CV of a Cox model"
                    )
                doc = _run_survival(
                    frame,
                    X,
                    time,
                    event,
                    group,
                    model,
                    outer,
                    inner,
                    repeats,
                    bootstrap,
                    seed,
                    horizon or [],
                    out_dir,
                    tune=tune,
                )
            else:
                doc = _run_classification(
                    frame,
                    X,
                    str(label),
                    group,
                    model=model,
                    selector=selector,
                    deep_pca=deep_pca,
                    tune=tune,
                    validation=validation,
                    centre=centre,
                    test_centre=test_centre or [],
                    outer=outer,
                    inner=inner,
                    repeats=repeats,
                    test_size=test_size,
                    level=level.value,
                    bootstrap=bootstrap,
                    seed=seed,
                    permutations=permutations,
                    arms=arms,
                    out_dir=out_dir,
                )
    except RadiomixError as exc:
        console.print(
            f"[red]error[/red] ({type(exc).__name__}): {exc}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(EXIT_INPUT) from None
    doc = {"radiomix_model": settings, **doc, "versions": _versions()}
    (out_dir / "metrics.json").write_text(
        json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8"
    )
    out.print(
        f"written: {', '.join(sorted(p.name for p in out_dir.iterdir()))} in {out_dir}",
        highlight=False,
    )


def _run_classification(
    frame: pd.DataFrame,
    X: pd.DataFrame,
    label: str,
    group: str,
    *,
    model: str,
    selector: str | None,
    deep_pca: int | None,
    tune: bool,
    validation: Validation,
    centre: str | None,
    test_centre: list[str],
    outer: int,
    inner: int,
    repeats: int,
    test_size: float,
    level: str,
    bootstrap: int,
    seed: int,
    permutations: int,
    arms: str | None,
    out_dir: Path,
) -> dict[str, Any]:
    import joblib

    from radiomix.evaluate import external_validation, fit_tuned, holdout_validation, nested_cv
    from radiomix.evaluate.figures import calibration_figure, decision_curve_figure, roc_figure
    from radiomix.model import build_pipeline, default_param_grid

    if label not in frame.columns:
        raise InputError(f"label column {label!r} not found")
    keep = frame[label].notna().to_numpy()
    if not keep.all():
        log.warning("%d rows without a label are left out", int((~keep).sum()))
    y = frame.loc[keep, label].to_numpy()
    Xk = X.loc[keep].reset_index(drop=True)
    g = frame.loc[keep, group].to_numpy()
    steps = [s.strip() for s in selector.split(",")] if selector else None
    pipe = build_pipeline(model, selector=steps, deep_pca=deep_pca, random_state=seed)
    grid = default_param_grid(model) if tune else None
    common: dict[str, Any] = {
        "param_grid": grid,
        "inner_splits": inner,
        "level": level,
        "n_bootstrap": bootstrap,
        "random_state": seed,
    }
    if validation is Validation.nested:
        res = nested_cv(pipe, Xk, y, groups=g, outer_splits=outer, n_repeats=repeats, **common)
    elif validation is Validation.holdout:
        res = holdout_validation(pipe, Xk, y, groups=g, test_size=test_size, **common)
    else:
        if centre is None or centre not in frame.columns or not test_centre:
            raise InputError("external validation needs --centre COLUMN and --test-centre NAME")
        res = external_validation(
            pipe,
            Xk,
            y,
            groups=g,
            centre=frame.loc[keep, centre].to_numpy(),
            test_centres=test_centre,
            **common,
        )
    _print_metrics(res.scheme, res.metrics)
    perm: dict[str, Any] | None = None
    if permutations > 0:
        if validation is not Validation.nested or len(res.classes) != 2:
            raise InputError("--permutations needs --validation nested and a binary label")
        from radiomix.evaluate import permutation_test

        pt = permutation_test(
            pipe,
            Xk,
            y,
            groups=g,
            n_permutations=permutations,
            param_grid=grid,
            outer_splits=outer,
            inner_splits=inner,
            random_state=seed,
        )
        perm = pt.to_dict()
        out.print(
            f"permutation test: CV AUC {pt.observed:.3f}, p = {pt.p_value:.4f} "
            f"({permutations} permutations of the patient labels; one repeat of the outer CV "
            "each, so the observed AUC can differ slightly from the repeated estimate)",
            highlight=False,
        )
    pred = res.predictions.copy()
    if level == "row":
        pred.insert(1, "index", frame.index[keep][pred["row"].to_numpy()])
    pred.to_csv(out_dir / "predictions.csv", index=False)
    final = fit_tuned(pipe, Xk, y, groups=g, param_grid=grid, inner_splits=inner, random_state=seed)
    versions = _versions()
    joblib.dump(
        {
            "model": final,
            "features": list(Xk.columns),
            "label": label,
            "classes": res.classes,
            "versions": versions,
        },
        out_dir / "model.joblib",
    )
    figures = []
    if len(res.classes) == 2:
        figures = [
            _save_fig(roc_figure({model: res}, random_state=seed), out_dir / "roc.png"),
            _save_fig(calibration_figure(res), out_dir / "calibration.png"),
            _save_fig(decision_curve_figure(res), out_dir / "decision_curve.png"),
        ]
    arms_doc = (
        _run_arms(
            Xk,
            y,
            g,
            arms,
            model=model,
            deep_pca=deep_pca,
            tune=tune,
            outer=outer,
            inner=inner,
            repeats=repeats,
            bootstrap=bootstrap,
            seed=seed,
            out_dir=out_dir,
        )
        if arms
        else None
    )
    return {
        **res.to_dict(),
        "arms": arms_doc,
        "n_rows": len(y),
        "n_patients": int(pd.unique(g).size),
        "final_model": {
            "best_params": dict(getattr(final, "best_params_", {})),
            "file": "model.joblib",
        },
        "predictions": "predictions.csv",
        "figures": figures,
        "permutation_test": perm,
        "note": (
            "95 % CIs resample patients of the out-of-sample predictions; for "
            "cross-validation they are widened by sqrt(2) to carry each label's role in "
            "training (radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE); --permutations adds "
            "an exact test against chance"
        ),
    }


def _run_arms(
    X: pd.DataFrame,
    y: np.ndarray,
    g: np.ndarray,
    wanted: str,
    *,
    model: str,
    deep_pca: int | None,
    tune: bool,
    outer: int,
    inner: int,
    repeats: int,
    bootstrap: int,
    seed: int,
    out_dir: Path,
) -> dict[str, Any]:
    from radiomix.evaluate.arms import compare_arms, standard_arms
    from radiomix.model import default_param_grid
    from radiomix.model.columns import column_block

    if model == "radscore":
        raise InputError("--arms needs an imaging --model other than radscore")
    clinical = [c for c in X.columns if column_block(c) == "clinical"]
    arms = standard_arms(
        list(X.columns), clinical=clinical, model=model, deep_pca=deep_pca or 10, random_state=seed
    )
    if wanted.strip() != "all":
        names = [a.strip() for a in wanted.split(",") if a.strip()]
        known = ("clinical", "radiomics", "deep", "fused", "clinical+radscore")
        unknown = [a for a in names if a not in known]
        if unknown:
            raise InputError(f"unknown arm(s) {unknown}; choose among {', '.join(known)} or all")
        absent = [a for a in names if a not in arms]
        if absent:
            raise InputError(
                f"arm(s) {absent} cannot be built from the chosen columns (no clinical, "
                f"radiomic or deep block); available: {list(arms)}"
            )
        arms = {a: arms[a] for a in names}
    if len(arms) < 2:
        raise InputError(f"--arms needs at least two arms; the chosen columns give {list(arms)}")
    grids = (
        {
            name: default_param_grid("logistic" if name == "clinical" else model)
            for name in arms
            if name != "clinical+radscore"
        }
        if tune
        else {}
    )
    cmp = compare_arms(
        arms,
        X,
        y,
        groups=g,
        param_grids=grids,
        outer_splits=outer,
        inner_splits=inner,
        n_repeats=repeats,
        n_bootstrap=bootstrap,
        random_state=seed,
    )
    cmp.table.to_csv(out_dir / "arms.csv", index=False)
    cmp.tests.to_csv(out_dir / "arms_tests.csv", index=False)
    _save_fig(cmp.plot_roc(random_state=seed), out_dir / "roc_arms.png")
    auc = cmp.table[cmp.table["metric"] == "roc_auc"]
    t = Table("arm", "ROC AUC", "95 % CI", title="arms (identical patient-grouped splits)")
    for _, r in auc.iterrows():
        t.add_row(r["arm"], f"{r['estimate']:.3f}", f"{r['ci_low']:.3f} – {r['ci_high']:.3f}")
    out.print(t)
    return {
        "reference": cmp.reference,
        "table": "arms.csv",
        "tests": cmp.tests.to_dict("records"),
        "roc_auc": {
            r["arm"]: [r["estimate"], r["ci_low"], r["ci_high"]] for _, r in auc.iterrows()
        },
        "figure": "roc_arms.png",
    }


def _run_survival(
    frame: pd.DataFrame,
    X: pd.DataFrame,
    time: str,
    event: str,
    group: str,
    model: str,
    outer: int,
    inner: int,
    repeats: int,
    bootstrap: int,
    seed: int,
    horizons: list[float],
    out_dir: Path,
    *,
    tune: bool,
) -> dict[str, Any]:
    import joblib
    from sklearn.pipeline import Pipeline

    from radiomix.evaluate.survival import fit_survival_tuned, km_by_risk_group, survival_cv
    from radiomix.model.fuse import BlockFuser
    from radiomix.model.survival import CoxPH, LassoCox

    if model not in ("cox", "lasso-cox"):
        raise InputError(f"survival models are cox and lasso-cox; got {model!r}")
    for c in (time, event):
        if c not in frame.columns:
            raise InputError(f"column {c!r} not found")
    t = pd.to_numeric(frame[time], errors="coerce")
    e = pd.to_numeric(frame[event], errors="coerce")
    keep = (t.notna() & e.notna()).to_numpy()
    est = CoxPH(penalizer=0.01) if model == "cox" else LassoCox()
    pipe = Pipeline([("fuse", BlockFuser(scale=None)), ("model", est)])
    Xk = X.loc[keep].reset_index(drop=True)
    g = frame.loc[keep, group].to_numpy()
    grid = {"model__penalizer": list(SURVIVAL_PENALTIES)} if tune else None
    res = survival_cv(
        pipe,
        Xk,
        t[keep].to_numpy(),
        e[keep].to_numpy(),
        groups=g,
        horizons=horizons,
        n_splits=outer,
        n_repeats=repeats,
        n_bootstrap=bootstrap,
        param_grid=grid,
        inner_splits=inner,
        random_state=seed,
    )
    _print_metrics(res.scheme, res.metrics)
    res.predictions.to_csv(out_dir / "predictions.csv", index=False)
    final = fit_survival_tuned(
        pipe,
        Xk,
        t[keep].to_numpy(),
        e[keep].to_numpy(),
        groups=g,
        param_grid=grid,
        inner_splits=inner,
        random_state=seed,
    )
    best = dict(getattr(final, "best_params_", {}))
    final = getattr(final, "best_estimator_", final)
    versions = _versions()
    joblib.dump(
        {
            "model": final,
            "features": list(Xk.columns),
            "time": time,
            "event": event,
            "versions": versions,
        },
        out_dir / "model.joblib",
    )
    first = res.predictions[res.predictions["repeat"] == 0]
    km = km_by_risk_group(first["time"], first["risk"], first["event"])
    _save_fig(km.plot(time_label=time), out_dir / "km.png")
    coef = final.named_steps["model"].coefficients()
    return {
        **res.to_dict(),
        "n_rows": int(keep.sum()),
        "n_patients": int(pd.unique(g).size),
        "km_logrank_p_out_of_fold": km.logrank_p,
        "final_model": {
            "coefficients": coef.to_dict("records"),
            "best_params": best,
            "file": "model.joblib",
        },
        "predictions": "predictions.csv",
        "figures": ["km.png"],
    }


def main() -> None:  # pragma: no cover - console entry when run on its own
    """Run :data:`app`."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
