"""``radiomix demo`` and ``radiomix report`` (registered in :mod:`radiomix.cli`).

Also runnable on their own: ``python -m radiomix.cli_report demo`` / ``... report DIR``.
Exit codes: 0 success, 1 the report was written but some cases recorded errors (or the
report's inputs are unusable), 2 usage or settings error.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from radiomix.errors import RadiomixError, SettingsError

if TYPE_CHECKING:
    from radiomix.demo import DemoProgress

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2


class _DemoReporter:
    """Demo progress: a rich bar per counted stage on a terminal, plain lines otherwise.
    Warnings (an untrained network) are always printed."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self.bar: Any = None
        self.task: Any = None
        self.stage: str | None = None
        self.last_done = -1

    def __call__(self, e: DemoProgress) -> None:
        if e.level == "warning":
            self.close()
            self.console.print(f"[bold yellow]warning[/bold yellow] ({e.stage}): {e.message}",
                               highlight=False, soft_wrap=True)
            return
        if self.quiet:
            return
        if e.stage != self.stage:
            self.close()
            self.stage = e.stage
            self.last_done = -1
            self.console.print(f"[bold]{e.stage}[/bold]: {e.message}", highlight=False,
                               soft_wrap=True)
            if e.total is None:
                return
        if e.total is None:
            self.console.print(f"  {e.message}", highlight=False, soft_wrap=True)
            return
        if self.live:
            if self.bar is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                self.bar = Progress(TextColumn(f"[bold]{e.stage}"), BarColumn(),
                                    MofNCompleteColumn(), TimeElapsedColumn(),
                                    TextColumn("ETA"), TimeRemainingColumn(),
                                    console=self.console, transient=True)
                self.bar.start()
                self.task = self.bar.add_task(e.stage, total=e.total)
            self.bar.update(self.task, completed=e.done or 0)
        elif e.done is not None and (e.done == e.total or e.done - self.last_done >= 10
                                     or e.done < 10):
            self.last_done = e.done
            self.console.print(f"  [{e.done}/{e.total}] {e.message}", highlight=False,
                               soft_wrap=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _fail(console: Console, exc: RadiomixError) -> typer.Exit:
    console.print(f"[red]error[/red] ({type(exc).__name__}): {exc}", highlight=False,
                  soft_wrap=True)
    return typer.Exit(EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_CASE_ERROR)


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder (reused by a second "
                                                          "run).")] = Path("out/demo"),
    data: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        help="Shared data folder holding sts/ (default: $RADIOMIX_DATA or ../shared/data).")
    ] = None,
    jobs: Annotated[Optional[int], typer.Option(  # noqa: UP045
        "--jobs", "-j", min=1, help="Worker processes (default: CPU count, at most 4).")
    ] = None,
    patients: Annotated[Optional[int], typer.Option(  # noqa: UP045
        min=6, help="Use this many patients (event fraction kept) instead of all 51.")
    ] = None,
    quick: Annotated[bool, typer.Option(
        help="Small, fast variant (12 patients, few feature families): checks the pipeline, "
             "its numbers mean little.")] = False,
    weights: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="ResNet18 weights: imagenet, random or a checkpoint file. Default: ImageNet if "
             "the file is in the cache, else random weights with a warning.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every split, bootstrap and model.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress output (warnings still shown).")]
    = False,
) -> None:
    """Run the sarcoma study (radiomics, deep features, clinical → lung metastasis) and
    write its HTML report."""
    from radiomix.demo import run_demo

    console = Console(stderr=True)
    n_jobs = jobs if jobs is not None else max(1, min(os.cpu_count() or 1, 4))
    reporter = _DemoReporter(console, quiet=quiet)
    # inner-loop grids try penalties that zero every rad-score coefficient: expected, and
    # logged once per fit; keep them out of the console unless --verbose asked for INFO
    noisy = logging.getLogger("radiomix.model")
    level = noisy.level
    if not logging.getLogger("radiomix").isEnabledFor(logging.INFO):
        noisy.setLevel(logging.ERROR)
    try:
        path = run_demo(out, data_dir=data, jobs=n_jobs, patients=patients, quick=quick,
                        weights=weights, seed=seed, progress=reporter)
    except RadiomixError as exc:
        reporter.close()
        raise _fail(console, exc) from None
    finally:
        reporter.close()
        noisy.setLevel(level)
    metrics = json.loads((path.parent / "metrics.json").read_text(encoding="utf-8"))
    if not quiet:
        for s in metrics["timings"]["stages"]:
            console.print(f"  {s['stage']:<22} {s['seconds']:8.1f} s  {s['note']}",
                          highlight=False, soft_wrap=True)
        console.print(f"  {'total':<22} {metrics['timings']['total_seconds']:8.1f} s",
                      highlight=False)
    for b in metrics.get("banners", []):
        if b.get("level") in ("error", "warning"):
            console.print(f"[bold yellow]{b['title']}[/bold yellow]: {b['text']}",
                          highlight=False, soft_wrap=True)
    failed = int(metrics["provenance"]["cases"]["failed"])
    if failed:
        console.print(f"[red]{failed} case(s) failed[/red]: see the errors section of the "
                      "report and features/errors.parquet", highlight=False)
    typer.echo(str(path.resolve()))
    raise typer.Exit(EXIT_CASE_ERROR if failed else EXIT_OK)


def report(
    results: Annotated[Path, typer.Argument(help="Results folder written by `radiomix demo` "
                                                 "(analysis.json, qc/, figures/).")],
    out: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--out", "-o", help="Where to write report.html and metrics.json (default: RESULTS).")
    ] = None,
) -> None:
    """Write a self-contained report.html (figures embedded, works offline) and
    metrics.json from a results folder."""
    from radiomix.report import write_report

    console = Console(stderr=True)
    try:
        path = write_report(results, out_dir=out)
    except RadiomixError as exc:
        raise _fail(console, exc) from None
    typer.echo(str(path.resolve()))


def main() -> None:
    """``python -m radiomix.cli_report {demo,report}``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                      no_args_is_help=True)
    app.command()(demo)
    app.command()(report)
    app(prog_name="radiomix")


if __name__ == "__main__":  # pragma: no cover
    main()
