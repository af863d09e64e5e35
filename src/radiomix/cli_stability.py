"""``radiomix stability``: perturbation robustness of a study's features (registered in
:mod:`radiomix.cli`).

Exit codes: 0 every lesion is assessed (every case succeeded, or a perturbation was
refused by design for every lesion of a tag, e.g. ``volume:-1`` on PET voxels coarser than
1 mm: it is left out of that tag's ICCs, said in a warning, and the table is complete); 1
some perturbation or extraction failed, or a refusal by design hit only some lesions of a
tag (the ICC leaves those lesions out); 2 usage or settings error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from radiomix.errors import RadiomixError

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2
MAX_ERRORS_SHOWN = 10

STUDY_HELP = "Study file (study.yaml) whose lesions are perturbed."
OUT_HELP = (
    "Output folder: perturbed/ NIfTI pairs, the derived manifest.csv and study.yaml, "
    "extract/ (cohort run, kept for resuming) and stability.parquet."
)
PERTURBATIONS_HELP = (
    "Comma-separated perturbations: original, volume:MM (grow +, shrink -), contour:K "
    "(supervoxel draw K), rotation:DEG (about the image's slice axis; modulo 360), "
    "translation:VOXEL_FRACTION, noise:MULTIPLE; any number form (1e-3). Default: "
    "original,volume:-1,volume:+1,contour:1,contour:2,rotation:+5,translation:0.25,noise:1."
)
PATIENTS_HELP = "Use only the first N patients of the manifest."
TAGS_HELP = "Comma-separated image tags to perturb (default: every tag of the study)."
SEED_HELP = "Seed of the random perturbations (contour draws, noise)."
JOBS_HELP = "Worker processes for perturbing and extracting."
THRESHOLD_HELP = "ICC lower 95 % bound at which a feature counts as stable in the summary."


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def stability_command(
    study: Annotated[Path, typer.Argument(help=STUDY_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    perturbations: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.11
        typer.Option("--perturbations", "-p", help=PERTURBATIONS_HELP),
    ] = None,
    patients: Annotated[
        Optional[int], typer.Option("--patients", min=2, help=PATIENTS_HELP)  # noqa: UP045
    ] = None,
    tags: Annotated[Optional[str], typer.Option("--tags", help=TAGS_HELP)] = None,  # noqa: UP045
    seed: Annotated[int, typer.Option(help=SEED_HELP)] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help=JOBS_HELP)] = 1,
    threshold: Annotated[float, typer.Option(min=-1.0, max=1.0, help=THRESHOLD_HELP)] = 0.75,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary table.")
    ] = False,
) -> None:
    """Perturb every lesion, extract the perturbed study and write each feature's ICC(1,1)."""
    from radiomix.cli import check_out_folder, os_failure
    from radiomix.cli_progress import (
        ProgressDisplay,
        cohort_callback,
        perturb_callback,
        plain_console,
    )
    from radiomix.stability import run_stability, stable_counts

    console = plain_console(stderr=True)
    try:
        check_out_folder(out)
        with ProgressDisplay(console, quiet=quiet) as shown:
            result = run_stability(
                study,
                out,
                perturbations=_split(perturbations),
                tags=_split(tags),
                patients=patients,
                seed=seed,
                jobs=jobs,
                progress=cohort_callback(shown, summary=False),
                perturb_progress=perturb_callback(shown),
            )
    except (RadiomixError, OSError) as exc:  # OSError: a full disk, a blocked output
        failure = os_failure(out, exc) if isinstance(exc, OSError) else exc
        message = " ".join(str(failure).split())  # one line, whatever the message holds
        console.print(
            Text.assemble(("error", "red"), f" ({type(failure).__name__}): {message}"),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_USAGE) from None
    # refusals by design are warned about by run_stability (one line per perturbation and
    # tag, with the reason); only a refusal that leaves lesions out of the ICC is a failure
    problems = [*result.perturbation_failures]
    problems += [
        f"{e['patient_id']}/{e['lesion_id']}/{e['tag']} ({e['stage']}, {e['error_type']}): "
        f"{e['message']}"
        for e in result.extraction.errors
    ]
    for msg in problems[:MAX_ERRORS_SHOWN]:
        console.print(Text.assemble(("failed", "red"), f" {msg}"), soft_wrap=True)
    if len(problems) > MAX_ERRORS_SHOWN:
        console.print(f"... {len(problems) - MAX_ERRORS_SHOWN} more", highlight=False)
    if not quiet:
        counts = stable_counts(result.table, threshold=threshold)
        table = Table(title=f"Stable features (ICC(1,1) 95 % lower bound >= {threshold:g})")
        for col in ("tag", "family", "features", "assessed", "stable"):
            table.add_column(col, justify="left" if col in ("tag", "family") else "right")
        for row in counts.itertuples(index=False):
            table.add_row(str(row.tag), str(row.family), str(row.n_features),
                          str(row.n_assessed), str(row.n_stable) if row.n_assessed else "–")
        table.add_row("all", "", str(int(counts.n_features.sum())),
                      str(int(counts.n_assessed.sum())), str(int(counts.n_stable.sum())))
        plain_console().print(table)
        by_tag = counts.groupby("tag")["n_assessed"].sum()
        for tag in by_tag.index[by_tag.eq(0)]:
            console.print(Text.assemble(
                ("warning", "yellow"),
                f": {tag}: no feature could be assessed (no lesion of this tag has a value "
                "under every perturbation); its ICCs are empty, and an arm filtering on this "
                "table would drop every one of its features"), soft_wrap=True)
        console.print(f"wrote {result.stability_path}", highlight=False)
    partial = any(not r.whole_tag for r in result.refusals)
    raise typer.Exit(EXIT_CASE_ERROR if problems or partial else EXIT_OK)
