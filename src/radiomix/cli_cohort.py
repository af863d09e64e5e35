"""``radiomix run``: extract a cohort from a study file (registered in :mod:`radiomix.cli`).

Also runnable on its own: ``python -m radiomix.cli_cohort STUDY --out DIR``.
Exit codes: 0 every case succeeded, 1 some cases recorded errors, 2 usage or settings error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from radiomix.errors import RadiomixError

if TYPE_CHECKING:
    from radiomix.cohort import Progress as ProgressEvent

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2
MAX_ERRORS_SHOWN = 10


class _Reporter:
    """Progress display: a rich bar with ETA on a terminal, plain lines otherwise."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.bar: Any = None  # rich.progress.Progress while a bar is shown
        self.task_id: Any = None
        self.live = console.is_terminal and not quiet

    def __call__(self, p: ProgressEvent) -> None:
        if self.quiet:
            return
        if p.event == "start":
            self.console.print(
                f"{p.total} cases: {p.cached} current (skipped), {p.todo} to compute",
                highlight=False,
            )
            if self.live and p.todo:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                self.bar = Progress(
                    TextColumn("[bold]extracting"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[failed]} failed"),
                    TimeElapsedColumn(),
                    TextColumn("ETA"),
                    TimeRemainingColumn(),
                    console=self.console,
                    transient=True,
                )
                self.bar.start()
                self.task_id = self.bar.add_task("cases", total=p.todo, failed=p.failed)
        elif p.event == "case":
            if self.bar is not None:
                self.bar.update(self.task_id, completed=p.computed, failed=p.failed)
            else:
                self.console.print(
                    f"[{p.computed}/{p.todo}] {p.case} {p.status} ({p.elapsed_s:.0f} s)",
                    highlight=False,
                )
        elif p.event == "end":
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


STUDY_HELP = "Study file (study.yaml): image tags, their settings, the manifest."
OUT_HELP = "Output folder: features.parquet, errors.parquet and cases/ (kept for resuming)."
JOBS_HELP = "Worker processes: a local pool, or the LocalCluster workers with --scheduler local."
SCHEDULER_HELP = "Dask: 'local' starts a LocalCluster; tcp://HOST:PORT uses a running scheduler."
QUIET_HELP = "No progress output; failed cases are still reported."


def run(
    study: Annotated[Path, typer.Argument(help=STUDY_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help=JOBS_HELP)] = 1,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,  # noqa: UP045
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
) -> None:
    """Extract every lesion of a study into one feature table (resumes an interrupted run)."""
    from radiomix.cohort import run_study

    console = Console(stderr=True)
    reporter = _Reporter(console, quiet=quiet)
    try:
        result = run_study(study, out, jobs=jobs, scheduler=scheduler, progress=reporter)
    except RadiomixError as exc:  # settings, manifest, scheduler: nothing ran
        reporter.close()
        console.print(
            f"[red]error[/red] ({type(exc).__name__}): {exc}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        reporter.close()
    for err in result.errors[:MAX_ERRORS_SHOWN]:
        console.print(
            f"[red]failed[/red] {err['patient_id']}/{err['lesion_id']}/{err['tag']} "
            f"({err['stage']}, {err['error_type']}): {err['message']}",
            highlight=False, soft_wrap=True,
        )
    if len(result.errors) > MAX_ERRORS_SHOWN:
        console.print(f"... {len(result.errors) - MAX_ERRORS_SHOWN} more in {result.errors_path}")
    if not quiet or result.errors:
        console.print(
            f"{result.n_rows} of {result.n_lesions} lesions written to {result.features_path} "
            f"({result.n_computed} cases computed, {result.n_cached} current, "
            f"{result.n_failed} failed{f'; see {result.errors_path}' if result.errors else ''})",
            highlight=False, soft_wrap=True,
        )
    raise typer.Exit(EXIT_OK if result.ok else EXIT_CASE_ERROR)


def main() -> None:
    """Run the ``run`` command on its own (``python -m radiomix.cli_cohort``)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(run)
    app(prog_name="radiomix-run")


if __name__ == "__main__":  # pragma: no cover
    main()
