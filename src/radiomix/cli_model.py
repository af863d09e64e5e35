"""``radiomix analyse`` and ``radiomix model``: thin front ends of the analysis engine.

``analyse STUDY.yaml --out DIR`` runs the study file's ``analysis:`` section
(:func:`radiomix.analysis.study.analyse_study`); ``model`` builds the same specification from
flags (:func:`radiomix.analysis.adhoc.adhoc_spec`) for a feature and/or clinical table. Both
write ``analysis.json``, ``predictions.csv``, ``model.joblib`` and ``report.html``.
Exit codes: 0 success, 1 bad input, 2 usage or settings error.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from radiomix.cli_progress import SAID, ProgressDisplay, analysis_callback, plain_console
from radiomix.errors import RadiomixError, SettingsError, UsageError

console = plain_console(stderr=True)
out = plain_console()
log = logging.getLogger(__name__)
EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


class Scheme(StrEnum):
    nested = "nested"
    holdout = "holdout"
    external = "external"
    tie = "training-internal-external"


class Level(StrEnum):
    row = "row"
    patient = "patient"


_SCHEMES = {"nested": "nested_cv", "holdout": "holdout", "external": "external",
            "training-internal-external": "training_internal_external"}


def _fail(exc: RadiomixError) -> typer.Exit:
    message = " ".join(str(exc).split())  # one line, whatever the message holds
    console.print(Text.assemble(("error", "red"), f" ({type(exc).__name__}): {message}"),
                  highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE if isinstance(exc, SettingsError | UsageError) else EXIT_INPUT)


ANALYSIS_JOBS_HELP = ("Worker processes: the arms are evaluated side by side (each on one "
                      "thread from its own seeds: same results for any number).")


class quiet_models:
    """Model-fitting messages (penalty paths that keep nothing, solver iterations) are
    expected in inner loops: keep them off the console unless ``--verbose`` asked for INFO;
    the engine records what matters in the analysis document's warnings."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("radiomix.model")
        self.level = self.logger.level
        if not logging.getLogger("radiomix").isEnabledFor(logging.INFO):
            self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


QUIET_HELP = "No progress bar and no summary table; the warnings still print."

MAX_NOTES = 20
"""Warnings of an analysis printed after its summary tables; the rest are counted."""


def print_summary(doc: dict[str, Any], *, tables: bool = True, report: bool = True) -> None:
    """One table per outcome and scheme (each arm's headline metric with its interval), then
    the analysis warnings not yet printed; ``tables=False`` (``--quiet``) prints the
    warnings only; ``report``: a report was written (its Warnings section is named)."""
    for o in doc["outcomes"] if tables else []:
        metric = "roc_auc" if o["kind"] == "binary" else "c_index"
        for v in o["validation"]:
            t = Table("arm", metric, "95 % CI", "inputs",
                      title=f"{o['label']} · {v['label']} ({v['n_patients']} patients)")
            for key in o["arm_order"]:
                a = v["arms"].get(key)
                if a is None:
                    continue
                m = a["metrics"].get(metric) or {}
                est = "–" if m.get("estimate") is None else f"{m['estimate']:.3f}"
                ci = ("–" if m.get("ci_low") is None
                      else f"{m['ci_low']:.3f} – {m['ci_high']:.3f}")
                arm = o["arms"][key]
                t.add_row(arm["label"] + (" (baseline)" if arm["kind"] == "baseline" else ""),
                          est, ci, str(arm["n_columns"] - arm.get("n_unstable", 0)))
            out.print(t)
    # the warnings not printed already while the analysis ran (as WARNING lines)
    warnings = [w for w in doc.get("warnings", []) if w not in SAID]
    for w in warnings[:MAX_NOTES]:
        console.print(Text.assemble(("note", "yellow"), f": {w}"), soft_wrap=True)
    if len(warnings) > MAX_NOTES:
        console.print(Text.assemble(
            ("note", "yellow"), f": ... and {len(warnings) - MAX_NOTES} more in analysis.json "
            "(warnings)" + (" and the report's Warnings section" if report else "")),
            soft_wrap=True)


def analyse(
    study: Annotated[Path, typer.Argument(help="study.yaml with an analysis: section.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Analysis folder.")],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1,
                                      help="Worker processes of the extraction and of the "
                                           "analysis (arms run side by side).")] = 1,
    features: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        help="Use this feature table (e.g. radiomix run's features.parquet) instead of "
             "extracting into OUT/features.")] = None,
    report: Annotated[bool, typer.Option(help="Write report.html.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
) -> None:
    """Analyse a study as its study file declares it: outcomes, column roles, arms,
    validation; extracts the features first when OUT/features holds none (OUT holding a
    radiomix run of the study: its cases are reused)."""
    import json

    from radiomix.analysis.study import analyse_study
    from radiomix.cli import check_out_folder, os_failure

    shown = ProgressDisplay(console, quiet=quiet)
    try:
        check_out_folder(out_dir)
        with quiet_models(), shown:
            path = analyse_study(study, out_dir, jobs=jobs, features=features, report=report,
                                 progress=analysis_callback(shown))
    except RadiomixError as exc:
        raise _fail(exc) from None
    except OSError as exc:  # a full disk, a folder where an output file goes
        raise _fail(os_failure(out_dir, exc)) from None
    print_summary(json.loads(path.read_text(encoding="utf-8")), tables=not quiet, report=report)
    typer.echo(str(path.parent.resolve()))


def model_command(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    table: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--features", help="Feature table (.parquet/.csv): one row per lesion or slice, with "
                           "the --groups column.")] = None,
    clinical: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        help="Clinical table (.csv/.parquet), one row per patient, joined on --groups.")] = None,
    target: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Binary outcome column (or --time and --event).")] = None,
    positive: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Positive class of --target (required unless it holds 0/1, 0.0/1.0 or "
             "true/false, recorded as 1/0).")] = None,
    group: Annotated[str, typer.Option("--groups", help="Patient id column.")] = "patient_id",
    lesion: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Lesion id column (default: lesion_id when the feature table has it).")] = None,
    columns: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--columns", help="Feature columns: comma list of names, wildcards (ct.original.*), "
                          "radiomic, deep, clinical. Default: the non-role columns of "
                          "--features with radiomix feature names (<tag>.<image type>."
                          "<family>.<feature>, <tag>.deep.*), its other numeric columns "
                          "only when named here. Required for a table without radiomix "
                          "names (nothing tells a feature from a follow-up time there).")
    ] = None,
    covariates: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Clinical covariates, comma list NAME[:categorical] (the clinical block; "
             "never guessed).")] = None,
    ordinal: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        help="Ordinal covariate COLUMN=LOW,MID,HIGH (repeatable).")] = None,
    derived: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Columns derived from the outcome (never inputs), comma list.")] = None,
    exclude: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Columns never used, comma list.")] = None,
    allow: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Inputs kept deliberately although the leak guard finds them outcome-derived "
             "(they separate a binary outcome or a survival event perfectly, or follow a "
             "time of the study: the survival time or a --derived column), comma list.")
    ] = None,
    model: Annotated[str, typer.Option(
        help="penalised_logistic, logistic, knn, svm, rf, gb, voting, stacking, radscore, "
             "nomogram, auto; survival: coxnet, cox, cox_nomogram (nomogram and cox_nomogram "
             "join the rad-score with the --covariates).")] = "penalised_logistic",
    selector: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Selection of the radiomic block: variance, correlation, fdr, lasso, mrmr.")
    ] = None,
    deep_pca: Annotated[int, typer.Option(help="PCA components of the deep block.")] = 10,
    tune: Annotated[bool, typer.Option(help="Tune hyper-parameters in inner folds.")] = True,
    budget: Annotated[Optional[int], typer.Option(  # noqa: UP045
        min=1, help="--model auto: pipelines its search draws in each training fold "
                    "(default 30).")] = None,
    arms: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Standard arms instead of one model: all, or a comma list of radiomics, deep, "
             "fused, radscore, clinical+radscore. Baselines (clinical, volume, prevalence) "
             "are always added.")] = None,
    validation: Annotated[Scheme, typer.Option(help="Validation scheme.")] = Scheme.nested,
    centre: Annotated[Optional[str], typer.Option(help="Centre column.")] = None,  # noqa: UP045
    test_centre: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        help="External centre(s) (repeatable).")] = None,
    outer: Annotated[int, typer.Option(help="Outer folds.")] = 5,
    inner: Annotated[int, typer.Option(help="Inner folds.")] = 3,
    repeats: Annotated[int, typer.Option(help="Repeats of the outer CV.")] = 5,
    test_size: Annotated[Optional[float], typer.Option(  # noqa: UP045
        help="Hold-out test fraction (--validation holdout; default 0.3).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Patient-bootstrap replicates.")] = 1000,
    threshold: Annotated[str, typer.Option(help="Operating threshold: 0.5, youden, "
                                                "sensitivity=0.9 …")] = "0.5",
    level: Annotated[Level, typer.Option(
        help="Score rows, or patients (mean prediction of their rows).")] = Level.row,
    seed: Annotated[int, typer.Option(help="Seed of splits, bootstrap and models.")] = 0,
    time: Annotated[Optional[str], typer.Option(help="Survival time column.")] = None,  # noqa: UP045
    event: Annotated[Optional[str], typer.Option(help="Event column.")] = None,  # noqa: UP045
    event_value: Annotated[str, typer.Option(
        help="Value of --event that marks an event (e.g. 1, yes, dead).")] = "1",
    time_unit: Annotated[str, typer.Option(help="days, months or years.")] = "days",
    horizon: Annotated[Optional[list[float]], typer.Option(  # noqa: UP045
        help="Horizon(s) of the time-dependent AUC, in years (repeatable).")] = None,
    report: Annotated[bool, typer.Option(help="Write report.html.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help=ANALYSIS_JOBS_HELP)] = 1,
) -> None:
    """Evaluate models on a feature and/or clinical table with patient-grouped validation
    (the analysis engine with a specification built from these flags)."""
    from radiomix.analysis.adhoc import run_adhoc
    from radiomix.cli import check_out_folder, os_failure

    shown = ProgressDisplay(console, quiet=quiet)
    try:
        check_out_folder(out_dir)
        with quiet_models(), shown:
            doc = run_adhoc(
                out_dir, features=table, clinical=clinical, target=target,
                positive=positive, group=group, lesion=lesion, columns=columns,
                covariates=covariates,
                ordinal=ordinal or [], derived=derived, exclude=exclude, allow=allow,
                model=model, selector=selector, deep_pca=deep_pca, tune=tune, budget=budget,
                arms=arms,
                scheme=_SCHEMES[validation.value], centre=centre,
                test_centres=test_centre or [], outer=outer, inner=inner, repeats=repeats,
                test_size=test_size, bootstrap=bootstrap, threshold=threshold,
                level=level.value, seed=seed, time=time, event=event,
                event_value=event_value, time_unit=time_unit,
                horizons=horizon or [], report=report, progress=analysis_callback(shown),
                jobs=jobs)
    except RadiomixError as exc:
        raise _fail(exc) from None
    except OSError as exc:  # a full disk, a folder where an output file goes
        raise _fail(os_failure(Path(out_dir), exc)) from None
    print_summary(doc, tables=not quiet, report=report)
    typer.echo(str(Path(out_dir).resolve()))
