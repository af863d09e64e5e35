"""``radiomix extract-many CASES.csv --out DIR``: features of a plain table of cases.

The CSV has the columns ``image`` and ``mask`` (paths; relative ones start from the CSV's
folder) and optionally ``label``, ``roi_name`` and ``case_id``: no study file needed. The
command is a thin caller of :func:`radiomix.api.extract_many`; it writes
``DIR/features.<format>`` (with the provenance) and, when cases failed,
``DIR/errors.csv``. Registered in :mod:`radiomix.cli`.

Exit codes: 0 every case succeeded, 1 some cases failed (listed), 2 usage, settings or an
unusable table (nothing ran).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from radiomix.cli_progress import ProgressDisplay, batch_callback, plain_console
from radiomix.errors import RadiomixError, UsageError

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2
MAX_ERRORS_SHOWN = 10


class TableFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    json = "json"


def extract_many(
    cases: Annotated[
        Path,
        typer.Argument(
            help="CSV of cases: columns image, mask (paths, relative to the CSV's folder), "
            "optional label, roi_name, case_id."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output folder: features.<format> and errors.csv (if any)."
        ),
    ],
    preset: Annotated[
        str | None, typer.Option(help="Settings preset: ibsi-digital, ibsi-A … ibsi-E, "
                                        "ibsi2-1A … ibsi2-9B, ibsi2-phase3-CT/-PET/-MR.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Settings YAML file (unknown keys are refused).")
    ] = None,
    tag: Annotated[
        str, typer.Option(help="Image tag: the first part of the column names.")
    ] = "image",
    resample_mask: Annotated[
        bool, typer.Option(help="Resample each mask to its image grid if their geometry differs.")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    table_format: Annotated[
        TableFormat, typer.Option("--format", help="Format of the feature table.")
    ] = TableFormat.parquet,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress output; failures are still listed.")
    ] = False,
    modality: Annotated[
        str | None,
        typer.Option(help="DICOM modality of every image (CT, PT, MR …), checked as by "
                     "radiomix extract --modality."),
    ] = None,
) -> None:
    """Extract the features of every case of a CSV table (one settings for all)."""
    import pandas as pd

    from radiomix.api import extract_many as run_many
    from radiomix.cli import check_out_folder
    from radiomix.table import write_table

    console = plain_console(stderr=True)
    if preset and config:
        console.print(Text.assemble(("error", "red"), ": give --preset or --config, not both"))
        raise typer.Exit(EXIT_USAGE)
    shown = ProgressDisplay(console, quiet=quiet, lines=True)
    api_log = logging.getLogger("radiomix.api")
    listed = _NotListedAgain()  # failures are listed below: each once; other warnings pass
    api_log.addFilter(listed)
    try:
        check_out_folder(out)
        frame = run_many(
            cases,
            preset or config,
            n_jobs=jobs,
            progress=batch_callback(shown),
            tag=tag,
            resample_mask=resample_mask,
            modality=modality,
        )
        features_path = out / f"features.{table_format.value}"
        rows = frame.to_dict(orient="records")
        _remove_earlier_tables(out)  # another run's table (other cases, settings or format)
        if rows:
            write_table(rows, features_path, provenance=frame.attrs["provenance"])
    except (RadiomixError, OSError) as exc:  # table, settings or output folder
        shown.close()
        if isinstance(exc, OSError):  # the folder was checked first: a full disk, a lost mount
            exc = UsageError(f"cannot write {out}: {exc.strerror or exc}; choose a writable --out")
        message = " ".join(str(exc).split())  # one line, whatever the message holds
        console.print(
            Text.assemble(("error", "red"), f" ({type(exc).__name__}): {message}"),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        shown.close()
        api_log.removeFilter(listed)
    errors = _with_lines(frame.attrs["errors"], cases)
    errors_path = out / "errors.csv"
    if errors:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(errors).to_csv(errors_path, index=False)
    elif errors_path.exists():
        errors_path.unlink()  # from an earlier run of the same folder
    for err in errors[:MAX_ERRORS_SHOWN]:
        console.print(
            Text.assemble(
                ("failed", "red"), f" {err['case_id']} ({err['error_type']}): {err['message']}"
                + (f" ({cases.name}, line {err['line']})" if err.get("line") else "")
            ),
            highlight=False,
            soft_wrap=True,
        )
    if len(errors) > MAX_ERRORS_SHOWN:
        console.print(f"... {len(errors) - MAX_ERRORS_SHOWN} more in {errors_path}")
    done = f"{len(frame)} of {len(frame) + len(errors)} cases written to {features_path}"
    if not rows:
        done = f"no case succeeded; nothing written to {features_path}"
    console.print(done + (f", errors in {errors_path}" if errors else ""), highlight=False)
    raise typer.Exit(EXIT_CASE_ERROR if errors else EXIT_OK)


def _with_lines(errors: list[dict[str, Any]], cases: Path) -> list[dict[str, Any]]:
    """The failed cases, each with the line of the cases CSV its row starts on (``line``,
    after ``case_id``; the header is line 1, as the table's own messages count): a case
    numbered by its row (no ``case_id`` column) or a message such as ``mask not found:
    <mask>`` does not say which row to fix. Unchanged when the lines cannot be told."""
    lines = _csv_lines(cases)
    if not lines:
        return errors
    out = []
    for err in errors:
        line = lines.get((str(err["case_id"]), err.get("label"), err.get("roi_name")))
        first = {"case_id": err["case_id"], "line": line}
        out.append({**first, **{k: v for k, v in err.items() if k not in first}})
    return out


def _csv_lines(cases: Path) -> dict[tuple[str, Any, Any], int]:
    """(case_id, label, roi_name) of each row of the cases CSV -> the line its row starts
    on, read as :func:`radiomix.api.read_cases` reads the table (ids numbered 0, 1, … in
    table order without a ``case_id`` column); empty when the file cannot be read again."""
    from radiomix.api import _case_row, _read_cases_csv

    try:
        frame, lines = _read_cases_csv(cases)
        has_ids = "case_id" in frame.columns
        out: dict[tuple[str, Any, Any], int] = {}
        for i, rec in enumerate(frame.to_dict(orient="records")):
            row = _case_row(rec, cases.parent, f"line {lines[i]}")
            case_id = str(row["case_id"]) if has_ids and row["case_id"] is not None else str(i)
            out[(case_id, row["label"], row["roi_name"])] = lines[i]
    except (RadiomixError, OSError, KeyError, IndexError, ValueError):
        return {}
    return out


def _remove_earlier_tables(out: Path) -> None:
    """Remove the feature tables an earlier radiomix run wrote into ``out`` in any format
    (and a CSV's provenance sidecar): left beside this run's, one of another format (or the
    only one, when no case succeeds now) would read as this run's result. A file without
    radiomix's provenance is not radiomix's: it is left, with a warning."""
    from radiomix.table import read_provenance

    for fmt in TableFormat:
        old = out / f"features.{fmt.value}"
        if not old.is_file():
            continue
        try:
            ours = bool(read_provenance(old))
        except (RadiomixError, OSError, ValueError):
            ours = False
        if not ours:
            logging.getLogger("radiomix.api").warning(
                "%s was not written by radiomix (no provenance) and is left in place: it is "
                "not this run's table", old)
            continue
        for path in (old, old.with_name(old.name + ".provenance.json")):
            if path.is_file():
                path.unlink()


class _NotListedAgain(logging.Filter):
    """Drops the log records of failed cases (``extra={"listed": True}``), which the
    command lists itself; the table's own warnings (a case given twice) go through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "listed", False)
