"""``radiomix demo`` and ``radiomix report`` (registered in :mod:`radiomix.cli`).

Also runnable on their own: ``python -m radiomix.cli_report demo`` / ``... report DIR``.
Exit codes: 0 success, 1 the report was written but some cases recorded errors (or the
report's inputs are unusable), 2 usage or settings error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from radiomix.cli_progress import plain_console
from radiomix.errors import RadiomixError, SettingsError, UsageError

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2


def _fail(console: Console, exc: RadiomixError) -> typer.Exit:
    message = " ".join(str(exc).split())  # one line, whatever the message holds
    console.print(Text.assemble(("error", "red"), f" ({type(exc).__name__}): {message}"),
                  highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE if isinstance(exc, SettingsError | UsageError)
                      else EXIT_CASE_ERROR)


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
    seed: Annotated[int, typer.Option(help="Seed of every split, bootstrap and model.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress output (warnings still shown).")]
    = False,
) -> None:
    """Run examples/sts/study.yaml (sarcoma cohort: radiomics, deep features, clinical →
    lung metastasis and time to it) through extraction, analysis and report."""
    from radiomix.cli import check_out_folder, os_failure
    from radiomix.cli_model import print_summary, quiet_models
    from radiomix.cli_progress import ProgressDisplay, analysis_callback
    from radiomix.demo import run_demo

    console = plain_console(stderr=True)
    n_jobs = jobs if jobs is not None else max(1, min(os.cpu_count() or 1, 4))
    try:
        check_out_folder(out)
        with quiet_models(), ProgressDisplay(console, quiet=quiet) as shown:
            path = run_demo(out, data_dir=data, jobs=n_jobs, patients=patients, quick=quick,
                            seed=seed, progress=analysis_callback(shown))
    except RadiomixError as exc:
        raise _fail(console, exc) from None
    except OSError as exc:  # a full disk, a folder where an output file goes
        raise _fail(console, os_failure(out, exc)) from None
    doc = json.loads((path.parent / "analysis.json").read_text(encoding="utf-8"))
    if not quiet:
        print_summary(doc)
    for b in doc.get("banners", []):  # each warning once: not those shown during the run
        if b.get("level") in ("error", "warning") and b.get("text") not in shown.warned:
            console.print(Text.assemble((str(b["title"]), "bold yellow"), f": {b['text']}"),
                          soft_wrap=True)
    failed = len(doc.get("errors") or [])
    if failed:
        console.print(Text.assemble((f"{failed} case(s) failed", "red"), ": see the errors "
                                    "section of the report and features/errors.parquet"))
    typer.echo(str(path.resolve()))
    raise typer.Exit(EXIT_CASE_ERROR if failed else EXIT_OK)


def report(
    results: Annotated[Path, typer.Argument(help="Analysis folder holding analysis.json "
                                                 "(written by `radiomix analyse`, `radiomix "
                                                 "model` or `radiomix demo`).")],
    out: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--out", "-o", help="Where to write report.html and metrics.json (default: RESULTS).")
    ] = None,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="Also print report.pdf with headless Chromium.")] = False,
) -> None:
    """Write a self-contained report.html (figures embedded, works offline), metrics.json
    and, with --pdf, report.pdf from an analysis folder."""
    from radiomix.cli import check_out_folder, os_failure
    from radiomix.report import write_report

    console = plain_console(stderr=True)
    try:
        if out is not None:
            check_out_folder(out)
        path = write_report(results, out_dir=out, pdf=pdf)
    except RadiomixError as exc:
        raise _fail(console, exc) from None
    except OSError as exc:  # a full disk, a folder where report.html goes
        raise _fail(console, os_failure(out or results, exc)) from None
    typer.echo(str(path.resolve()))
    if pdf:
        typer.echo(str((path.parent / "report.pdf").resolve()))


def main() -> None:
    """``python -m radiomix.cli_report {demo,report}``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                      no_args_is_help=True)
    app.command()(demo)
    app.command()(report)
    app(prog_name="radiomix")


if __name__ == "__main__":  # pragma: no cover
    main()
