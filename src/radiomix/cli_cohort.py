"""``radiomix run``: extract a cohort from a study file (registered in :mod:`radiomix.cli`).

Also runnable on its own: ``python -m radiomix.cli_cohort STUDY --out DIR``.
Exit codes: 0 every case succeeded, 1 some cases recorded errors, 2 usage or settings error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from radiomix.cli_progress import ProgressDisplay, cohort_callback, plain_console
from radiomix.errors import RadiomixError, UsageError, WorkersLostError

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2
MAX_ERRORS_SHOWN = 10


STUDY_HELP = "Study file (study.yaml): image tags, their settings, the manifest."
OUT_HELP = "Output folder: features.parquet, errors.parquet and cases/ (kept for resuming)."
JOBS_HELP = (
    "Worker processes: a local pool, or the LocalCluster workers with --scheduler local "
    "(refused with a scheduler address, whose own workers run the cases)."
)
SCHEDULER_HELP = "Dask: 'local' starts a LocalCluster; tcp://HOST:PORT uses a running scheduler."
QUIET_HELP = "No progress output; failed cases are still reported."
WORKER_TIMEOUT_HELP = (
    "With --scheduler only: seconds the Dask cluster may have no worker before the run "
    "stops (a re-run resumes); default 120."
)


def _error_line(console: Console, exc: BaseException) -> None:
    """``error (Type): message`` on one line (the message's own line breaks folded)."""
    message = " ".join(str(exc).split())
    console.print(
        Text.assemble(("error", "red"), f" ({type(exc).__name__}): {message}"),
        highlight=False,
        soft_wrap=True,
    )


def run(
    study: Annotated[Path, typer.Argument(help=STUDY_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help=JOBS_HELP)] = 1,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,  # noqa: UP045
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    worker_timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--worker-timeout", min=1.0, help=WORKER_TIMEOUT_HELP),
    ] = None,
) -> None:
    """Extract every lesion of a study into one feature table (resumes an interrupted run)."""
    from radiomix.cli import check_out_folder, output_error
    from radiomix.cohort import run_study

    console = plain_console(stderr=True)
    shown = ProgressDisplay(console, quiet=quiet, lines=True)
    try:
        check_out_folder(out)
        result = run_study(
            study,
            out,
            jobs=jobs,
            scheduler=scheduler,
            progress=cohort_callback(shown),
            worker_timeout_s=worker_timeout,
        )
    except RadiomixError as exc:  # settings, manifest, lock, scheduler; or workers lost
        shown.close()
        _error_line(console, exc)
        raise typer.Exit(
            EXIT_CASE_ERROR if isinstance(exc, WorkersLostError) else EXIT_USAGE
        ) from None
    except OSError as exc:  # the output folder: a full disk, a file where a folder goes
        shown.close()
        _error_line(console, UsageError(output_error(out, exc)))
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        shown.close()
    for err in result.errors[:MAX_ERRORS_SHOWN]:
        console.print(
            Text.assemble(
                ("failed", "red"),
                f" {err['patient_id']}/{err['lesion_id']}/{err['tag']} "
                f"({err['stage']}, {err['error_type']}): {err['message']}",
            ),
            highlight=False,
            soft_wrap=True,
        )
    if len(result.errors) > MAX_ERRORS_SHOWN:
        console.print(f"... {len(result.errors) - MAX_ERRORS_SHOWN} more in {result.errors_path}")
    if not quiet or result.errors:
        left_out = (
            "; a lesion with a failed case is left out of the table unless the study file "
            "sets keep_partial: true" if result.errors and result.n_rows < result.n_lesions
            else "")
        reused = (
            f" ({result.n_failed_cached} of them read back from an earlier run with the same "
            "inputs and settings: fix the input, or the settings, and run again)"
            if result.n_failed_cached else "")
        console.print(
            f"{result.n_rows} of {result.n_lesions} lesions written to {result.features_path} "
            f"(cases: {result.n_computed} run now, {result.n_cached} reused from earlier runs; "
            f"{result.n_failed} failed{reused}"
            f"{f', see {result.errors_path}' if result.errors else ''}"
            f"{left_out})",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_OK if result.ok else EXIT_CASE_ERROR)


standardise_app = typer.Typer(
    help="MR histogram standardisation (Nyúl–Udupa): fit the landmarks file a study reads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@standardise_app.callback()
def _standardise() -> None:
    """MR histogram standardisation (Nyúl–Udupa 2000): fit the landmarks a study reads."""


@standardise_app.command("fit")
def standardise_fit(
    study: Annotated[Path, typer.Argument(help=STUDY_HELP)],
    tag: Annotated[str, typer.Option(help="Image tag to fit, e.g. mr_t1.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Landmarks file to write (JSON).")],
    centre: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            help="Fit on lesions of this centre only (the study's centre column); repeat for "
            "several. Fit on the training centre(s) so that no validation image shapes the "
            "scale."
        ),
    ] = None,
    where: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            help="COLUMN=VALUE: fit on lesions whose manifest column holds VALUE (repeat; "
            "values of one column are alternatives, columns must all match), e.g. split=train."
        ),
    ] = None,
    region: Annotated[
        str,
        typer.Option(
            help="Histogram region of each image: foreground (voxels above the image mean), "
            "image (every voxel) or roi (the tag's masks)."
        ),
    ] = "foreground",
) -> None:
    """Fit the standard scale of one image tag and write its landmarks file.

    Then set, in the study file, preprocess: {normalise: nyul, nyul_landmarks: FILE} for
    that tag; 'radiomix run' reads the file (its SHA-256 and training lesions go into the
    provenance) and never refits it.
    """
    from radiomix.cli import check_out_folder
    from radiomix.cohort import fit_study_standard_scale
    from radiomix.errors import SettingsError, UsageError
    from radiomix.process.normalise import save_standard_scale
    from radiomix.settings.study import load_study

    console = plain_console(stderr=True)
    try:
        if out.is_dir():
            raise UsageError(f"--out {out} is a folder; give a file name such as "
                             f"{out / (tag + '_landmarks.json')}")
        check_out_folder(out.parent, given=out)
        loaded = load_study(study, require_landmarks=False)
        selection: dict[str, list[str]] = {}
        for item in where or []:
            column, sep, value = item.partition("=")
            if not sep or not column.strip():
                raise SettingsError(f"--where needs COLUMN=VALUE, got {item!r}")
            selection.setdefault(column.strip(), []).append(value.strip())
        if centre:
            centre_column = loaded.settings.columns.centre
            if centre_column is None:
                raise SettingsError(
                    "--centre needs the study's centre column (columns: {centre: NAME})"
                )
            selection.setdefault(centre_column, []).extend(centre)
        scale = fit_study_standard_scale(loaded, tag, where=selection, region=region)
        try:  # a missing folder is made (as other --out options do) once the fit succeeded
            out.parent.mkdir(parents=True, exist_ok=True)
            saved = save_standard_scale(scale, out)
        except OSError as exc:
            raise UsageError(f"cannot write the landmarks file {out}: {exc.strerror or exc}; "
                             "choose a writable --out") from None
    except RadiomixError as exc:
        _error_line(console, exc)
        raise typer.Exit(
            EXIT_USAGE if isinstance(exc, SettingsError | UsageError) else EXIT_CASE_ERROR
        ) from None
    console.print(
        f"standard scale of {tag} fitted on {scale.landmarks.n_images} images "
        f"({len(scale.fitted_on['patients'])} patients) written to {out} "
        f"(sha256 {saved.sha256})",
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:
    """Run the ``run`` command on its own (``python -m radiomix.cli_cohort``)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(run)
    app(prog_name="radiomix-run")


if __name__ == "__main__":  # pragma: no cover
    main()
