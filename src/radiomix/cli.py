"""The ``radiomix`` command line: thin commands over the public API.

Exit codes: 0 success, 1 a case failed (input error) or the IBSI check found mismatches,
2 usage or settings error.
"""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from radiomix.errors import InputError, RadiomixError, SettingsError

app = typer.Typer(
    name="radiomix",
    help="IBSI-conformant radiomics: extract features, check IBSI conformance, run studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Source(StrEnum):
    nifti = "nifti"
    dicom = "dicom"
    both = "both"


def _print_version(value: bool) -> None:
    if value:
        from radiomix import __version__

        out.print(f"radiomix {__version__}", highlight=False)
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress (INFO).")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
        force=True,
    )


def _fail(exc: RadiomixError) -> typer.Exit:
    code = EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_CASE_ERROR
    console.print(
        f"[red]error[/red] ({type(exc).__name__}): {exc}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


@app.command()
def extract(
    image: Annotated[
        Path, typer.Argument(help="Image file (NIfTI/NRRD/MHA) or DICOM series folder.")
    ],
    mask: Annotated[Path, typer.Argument(help="Mask: label image file, RTSTRUCT or DICOM SEG.")],
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="Output table: .parquet, .csv or .json.")
    ],
    preset: Annotated[
        str | None, typer.Option(help="Settings preset: ibsi-digital, ibsi-A … ibsi-E.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Settings YAML file (unknown keys are refused).")
    ] = None,
    label: Annotated[
        int | None, typer.Option(help="Mask label (or SEG segment number) forming the ROI.")
    ] = None,
    roi_name: Annotated[
        str | None, typer.Option(help="RTSTRUCT ROI name or SEG segment label.")
    ] = None,
    resample_mask: Annotated[
        bool, typer.Option(help="Resample the mask to the image grid if their geometry differs.")
    ] = False,
    tag: Annotated[
        str, typer.Option(help="Image tag: the first part of the column names.")
    ] = "image",
    case_id: Annotated[
        str | None, typer.Option(help="Identifier written in the table and messages.")
    ] = None,
    deep: Annotated[
        str | None,
        typer.Option(
            help="Add CNN embeddings: MODEL[:MODE], e.g. resnet18:2.5d (modes slices, "
            "max_slice, 2.5d, 3d; slice embeddings are averaged and maxed over the lesion)."
        ),
    ] = None,
    deep_weights: Annotated[
        str,
        typer.Option(
            help="Weights for --deep: imagenet (2D) / medicalnet (3D) from the cache "
            "($RADIOMIX_CACHE or $TORCH_HOME), a checkpoint PATH, or random (recorded)."
        ),
    ] = "imagenet",
    organ_mask: Annotated[
        Path | None,
        typer.Option(
            help="Organ mask on the image grid clipping the peritumoral ring (settings "
            "preprocess: {roi: ring, ring_clip: organ}; organ_label picks its label)."
        ),
    ] = None,
) -> None:
    """Extract the radiomic features of one image and mask into a table."""
    from radiomix.extraction import extract as run_extract
    from radiomix.table import write_table

    if preset and config:
        console.print("[red]error[/red]: give --preset or --config, not both")
        raise typer.Exit(EXIT_USAGE)
    try:
        deep_settings = None
        if deep is not None:
            from radiomix.deep import DeepSettings, parse_deep_spec

            model, mode = parse_deep_spec(deep)
            deep_settings = DeepSettings(model=model, mode=mode, weights=deep_weights)
        result = run_extract(
            image,
            mask,
            settings=preset or config,
            label=label,
            roi_name=roi_name,
            resample_mask=resample_mask,
            tag=tag,
            case_id=case_id,
            deep=deep_settings,
            organ_mask=organ_mask,
        )
        ids = {"case_id": case_id} if case_id else {}
        path = write_table([result.row(**ids)], out_file, provenance=result.provenance)
    except RadiomixError as exc:
        raise _fail(exc) from None
    console.print(f"{len(result.features)} features written to {path}", highlight=False)


@app.command()
def features(
    format: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """List every registered feature: name, IBSI code, family, aggregations."""
    from radiomix.features import all_features

    specs = all_features()
    if format is OutputFormat.json:
        doc = [
            {
                "name": s.name,
                "ibsi": s.ibsi,
                "family": s.family,
                "family_code": s.family_code,
                "aggregations": [a.token for a in s.aggregations],
                "aggregation_codes": [a.ibsi for a in s.aggregations],
                "requires": list(s.requires),
                "description": s.doc,
            }
            for s in specs
        ]
        out.print_json(json.dumps(doc))
        return
    table = Table("name", "IBSI", "family", "aggregations", "description")
    for s in specs:
        table.add_row(
            s.name,
            s.ibsi or "—",
            f"{s.family} ({s.family_code})",
            ", ".join(a.token for a in s.aggregations) or "—",
            s.doc,
        )
    out.print(table)


@app.command("ibsi-check")
def ibsi_check(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the full result as JSON.")
    ] = False,
    source: Annotated[
        Source, typer.Option(help="CT phantom input: nifti, dicom or both.")
    ] = Source.both,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Data set(s) to check (default all).")
    ] = None,
) -> None:
    """Check every IBSI 1 reference value (digital phantom, configurations A–E)."""
    from radiomix.ibsi import DATASETS, check

    sources = ["nifti", "dicom"] if source is Source.both else [source.value]
    try:
        result = check(datasets=dataset or list(DATASETS), sources=sources)
    except RadiomixError as exc:
        raise _fail(exc) from None
    if json_out:
        out.print_json(json.dumps(result))
    else:
        table = Table("data set", "source", "family", "matched", "total")
        for s in result["summary"]:
            table.add_row(
                s["dataset"], s["source"], s["family"], str(s["matched"]), str(s["total"])
            )
        out.print(table)
        for m in result["mismatches"]:
            out.print(
                f"MISMATCH {m['dataset']} ({m['source']}) {m['family']} {m['feature']} "
                f"[{m['ibsi_code']} {m['aggregation']}]: computed {m['computed']}, reference "
                f"{m['reference']} ± {m['tolerance']}",
                highlight=False,
            )
        out.print(
            f"{result['matched']}/{result['total']} reference values matched", highlight=False
        )
    raise typer.Exit(EXIT_OK if result["matched"] == result["total"] else EXIT_CASE_ERROR)


def _register_subcommands() -> None:
    """Commands defined beside their subject (cohort runs, evaluation, demo and report)."""
    from radiomix.cli_batch import extract_many
    from radiomix.cli_cohort import run, standardise_app
    from radiomix.cli_model import model_command
    from radiomix.cli_report import demo, report
    from radiomix.cli_weights import weights_app

    app.command("extract-many")(extract_many)
    app.command("run")(run)
    app.add_typer(standardise_app, name="standardise")
    app.command("model")(model_command)
    app.command("demo")(demo)
    app.command("report")(report)
    app.add_typer(weights_app, name="weights")


_register_subcommands()


def main() -> None:
    """Console-script entry point (exit code 2 for usage errors, as click does)."""
    try:
        app()
    except InputError as exc:  # pragma: no cover - commands translate their own errors
        console.print(f"[red]error[/red]: {exc}")
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    main()
