"""The ``radiomix`` command line: thin commands over the public API.

Exit codes: 0 success, 1 a case failed (input error) or the IBSI check found mismatches,
2 usage or settings error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from radiomix.cli_progress import WarnOnce, log_handler, plain_console
from radiomix.errors import (
    InputError,
    InternalError,
    RadiomixError,
    SettingsError,
    UsageError,
)

if TYPE_CHECKING:
    from radiomix.settings import ExtractionSettings

app = typer.Typer(
    name="radiomix",
    help="IBSI-conformant radiomics: extract features, check IBSI conformance, run studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = plain_console(stderr=True)
out = plain_console()

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
    handler = log_handler(console)
    handler.addFilter(WarnOnce())
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[handler],
        force=True,
    )


def _fail(exc: RadiomixError) -> typer.Exit:
    """Print one line ``error (Type): message`` and return the exit (2 usage, 1 case)."""
    code = EXIT_USAGE if isinstance(exc, SettingsError | UsageError) else EXIT_CASE_ERROR
    message = " ".join(str(exc).split())  # one line, whatever the message holds
    # Text, not markup: a message may hold brackets, such as the [case id] prefix
    console.print(
        Text.assemble(("error", "red"), f" ({type(exc).__name__}): {message}"),
        highlight=False,
        soft_wrap=True,
    )
    return typer.Exit(code)


def _settings_option(preset: str | None, config: Path | None) -> ExtractionSettings | None:
    """Settings of ``--preset`` (by name, with a did-you-mean hint) or ``--config`` (a YAML
    file); ``None`` for the defaults. Raises :class:`SettingsError` (exit 2)."""
    from radiomix.settings import load_preset, load_settings_file

    if preset is not None:
        return load_preset(preset)
    if config is not None:
        return load_settings_file(config)
    return None


def output_error(folder: Path, exc: OSError) -> str:
    """One line for an output that could not be written after the folder's check: a full
    disk, a file where a folder goes (``cases``), a folder where a file goes; the file is
    named by its base name only.

    Examples
    --------
    >>> output_error(Path("out"), OSError(28, "No space left on device", "out/cases/a.json"))
    ... # doctest: +ELLIPSIS
    'cannot write a.json in out: No space left on device; free space on its disk, or ...'
    """
    name = f"{Path(exc.filename).name} in " if exc.filename else ""
    return (f"cannot write {name}{folder}: {exc.strerror or exc}; free space on its disk, or "
            "choose another --out")


def os_failure(folder: Path | None, exc: OSError) -> RadiomixError:
    """The one-line error of an operating-system failure in a command writing into
    ``folder``: writing there (:func:`output_error`, a usage problem: exit 2), or reaching
    a file elsewhere (an input: exit 1)."""
    name = Path(exc.filename) if exc.filename else None
    if folder is not None and (name is None or _within(name, folder)):
        return UsageError(output_error(folder, exc))
    return InputError(f"cannot read {name.name if name else 'a file'}: "
                      f"{exc.strerror or exc}; check that it exists and can be read")


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def check_out_folder(folder: Path, *, given: Path | None = None, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before any work starts.

    The one check of every command writing into a folder (``--out DIR``) or a file
    (``--out FILE``: its folder, with ``given`` the file as typed). Nothing is left behind:
    the folders created to try it are removed again.

    Raises
    ------
    UsageError
        ``folder`` is an existing file, lies under a file, cannot be created or is not
        writable (exit 2).
    """
    import os
    import tempfile

    shown = given if given is not None else folder
    created: list[Path] = []
    action = "use"
    try:
        above = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if above is not None and not above.is_dir():
            if above == folder and given is None:
                raise UsageError(f"{option} {shown} exists and is not a folder; give a folder "
                                 "(or remove the file)")
            raise UsageError(f"{option} {shown}: {above} is a file, not a folder; choose "
                             f"another {option}")
        created = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
        action = "create"
        folder.mkdir(parents=True, exist_ok=True)
        action = "write in"
        fd, probe = tempfile.mkstemp(prefix=".radiomix-write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"cannot {action} the output folder {folder}: {exc.strerror or exc}; choose a "
            f"writable {option}"
        ) from None
    finally:
        for p in created:  # only the folders made here, and only while empty
            try:
                p.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break


def _check_out_path(path: Path) -> None:
    """Refuse an unusable ``--out`` before any work (exit 2): wrong suffix, a folder, a
    parent that is a file, or a folder that cannot be created or written."""
    from radiomix.table import SUFFIXES

    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(
            f"--out must end in {', '.join(SUFFIXES)}; got {path.name!r} (the suffix picks the "
            "table format)"
        )
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder; give a file name such as {path / 'x.csv'}")
    check_out_folder(path.parent, given=path)


def _write_atomic(path: Path, write: Callable[[Path], Path]) -> Path:
    """Write through a temporary folder beside ``path`` and move the files into place, so an
    interrupted or failed write leaves no partial table (or provenance sidecar) behind."""
    import os
    import shutil
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        write(tmp / path.name)
        for produced in sorted(tmp.iterdir(), key=lambda p: p.name != path.name):
            os.replace(produced, path.parent / produced.name)  # the table first, then sidecars
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


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
        str | None, typer.Option(help="Settings preset: ibsi-digital, ibsi-A … ibsi-E, "
                                        "ibsi2-1A … ibsi2-9B, ibsi2-phase3-CT/-PET/-MR.")
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
        str | None,
        typer.Option(
            help="Weights for --deep: imagenet (2D) / medicalnet (3D) from the cache "
            "($RADIOMIX_CACHE or $TORCH_HOME), a checkpoint PATH, or random (recorded); "
            "default imagenet, medicalnet for mode 3d."
        ),
    ] = None,
    organ_mask: Annotated[
        Path | None,
        typer.Option(
            help="Organ mask on the image grid clipping the peritumoral ring (settings "
            "preprocess: {roi: ring, ring_clip: organ}; organ_label picks its label)."
        ),
    ] = None,
    modality: Annotated[
        str | None,
        typer.Option(
            help="DICOM modality of the image (CT, PT, MR …): a CT whose values cannot be HU, "
            "or a PT whose values cannot be activity or SUV, is refused."
        ),
    ] = None,
) -> None:
    """Extract the radiomic features of one image and mask into a table."""
    if preset and config:
        raise _fail(UsageError("give --preset or --config, not both"))
    if deep_weights is not None and deep is None:
        raise _fail(UsageError("--deep-weights chooses the weights of --deep, which was not "
                               "given: add --deep MODEL[:MODE] or drop --deep-weights"))
    from radiomix.case import check_case_id

    try:
        check_case_id(case_id, name="--case-id")
    except UsageError as exc:
        raise _fail(exc) from None
    try:
        _check_out_path(out_file)
        settings = _settings_option(preset, config)
        if settings is not None and settings.preprocess.ring_clip == "organ" \
                and organ_mask is None:
            raise UsageError(
                "preprocess.ring_clip is organ but no organ mask was given: pass "
                "--organ-mask PATH (the organ's mask on the image grid)")
        from radiomix._memory import release_free_heap
        from radiomix.extraction import extract as run_extract  # after the quick checks
        from radiomix.table import write_table

        deep_settings = None
        if deep is not None:
            from radiomix.deep import DeepSettings, check_weights, parse_deep_spec
            from radiomix.errors import WeightsError

            model, mode = parse_deep_spec(deep)
            deep_settings = DeepSettings(
                model=model, mode=mode,
                weights=deep_weights or ("medicalnet" if mode == "3d" else "imagenet"))
            try:  # a weight file that cannot serve is a settings problem (exit 2), as in run
                check_weights(deep_settings)
            except WeightsError as exc:
                raise SettingsError(f"--deep-weights: {exc}") from None
        result = run_extract(
            image,
            mask,
            settings=settings,
            label=label,
            roi_name=roi_name,
            resample_mask=resample_mask,
            tag=tag,
            case_id=case_id,
            deep=deep_settings,
            organ_mask=organ_mask,
            modality=modality,
        )
        release_free_heap()  # before the table's imports (pandas): a lower peak
        ids = {"case_id": case_id} if case_id else {}
        try:
            path = _write_atomic(
                out_file,
                lambda p: write_table([result.row(**ids)], p, provenance=result.provenance),
            )
        except OSError as exc:  # the folder was checked first: a full disk, a lost mount
            raise UsageError(
                f"cannot write {out_file}: {exc.strerror or exc}; choose a writable --out"
            ) from None
    except RadiomixError as exc:
        raise _fail(exc) from None
    except MemoryError:
        raise _fail(
            InputError(
                "out of memory: the image, the ROI or the grey levels are too large for this "
                "machine; crop the image, use a coarser interpolation.spacing or fewer bins"
            )
        ) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # a bug: one line by default, the traceback with -v
        if logging.getLogger("radiomix").getEffectiveLevel() <= logging.INFO:
            raise
        raise _fail(
            InternalError(
                f"{type(exc).__name__}: {exc}; this is a bug in radiomix, please report it "
                "(run again with -v for the traceback)"
            )
        ) from None
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
    header = ("name", "IBSI", "family", "aggregations", "description")
    rows = [
        (
            s.name,
            s.ibsi or "—",
            f"{s.family} ({s.family_code})",
            ", ".join(a.token for a in s.aggregations) or "—",
            s.doc,
        )
        for s in specs
    ]
    if not out.is_terminal:  # a pipe or a file: whole names, one tab-separated line each
        sys.stdout.write("".join("\t".join(r) + "\n" for r in (header, *rows)))
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command("ibsi-check")
def ibsi_check(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the full result as JSON.")
    ] = False,
    source: Annotated[
        Optional[Source],  # noqa: UP045
        typer.Option(help="CT phantom input: nifti, dicom or both (default both)."),
    ] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Data set(s) to check (default all).")
    ] = None,
    ibsi2: Annotated[
        bool,
        typer.Option(
            "--ibsi2",
            help="Check the 33 IBSI 2 phase-1 reference response maps instead (every voxel "
            "within 1 % of the reference map's range).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar (the results still print).")
    ] = False,
) -> None:
    """Check every IBSI 1 reference value (digital phantom, configurations A–E), or with
    --ibsi2 every IBSI 2 phase-1 reference response map."""
    from radiomix.cli_progress import ProgressDisplay, check_callback
    from radiomix.ibsi import DATASETS, check

    if ibsi2:
        for given, flag in ((dataset, "--dataset picks IBSI 1 data sets"),
                            (source, "--source picks the IBSI 1 CT phantom's input")):
            if given:
                console.print(Text.assemble(("error", "red"), f": {flag}; drop it: --ibsi2 "
                                            "checks the IBSI 2 response maps"))
                raise typer.Exit(EXIT_USAGE)
        _ibsi2_check(json_out, quiet=quiet)
    sources = ["nifti", "dicom"] if source in (None, Source.both) else [source.value]
    try:
        with ProgressDisplay(console, quiet=quiet) as shown:
            result = check(
                datasets=dataset or list(DATASETS),
                sources=sources,
                progress=check_callback(shown),
            )
    except RadiomixError as exc:
        raise _fail(exc) from None
    if result["total"] == 0:  # a pass on nothing would read as a pass
        raise _fail(UsageError(
            f"no reference value to check for data set(s) {', '.join(dataset or DATASETS)} "
            f"from source(s) {', '.join(sources)} (the digital phantom has no DICOM source); "
            "choose another --dataset or --source"))
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


def _ibsi2_check(json_out: bool, *, quiet: bool) -> None:
    """``ibsi-check --ibsi2``: one line per IBSI 2 phase-1 test with its tolerance."""
    from radiomix.cli_progress import ProgressDisplay, check_callback
    from radiomix.ibsi import check_ibsi2

    try:
        with ProgressDisplay(console, quiet=quiet) as shown:
            result = check_ibsi2(progress=check_callback(shown))
    except RadiomixError as exc:
        raise _fail(exc) from None
    if json_out:
        out.print_json(json.dumps(result))
    else:
        for r in result["tests"]:  # one plain line per test: never truncated like a table
            out.print(
                f"{'pass' if r['passed'] else 'FAIL'}  {r['test']:<7} {r['phantom']:<13} "
                f"max |diff| {r['max_abs_diff']:.4g} "
                f"{'<=' if r['passed'] else '>'} tolerance {r['tolerance']:.4g}  "
                f"({r['filter']})",
                highlight=False,
                soft_wrap=True,
            )
        out.print(
            f"{result['passed']}/{result['total']} IBSI 2 phase-1 response maps within "
            "tolerance (1 % of the reference range)",
            highlight=False,
        )
    raise typer.Exit(EXIT_OK if result["passed"] == result["total"] else EXIT_CASE_ERROR)


def _register_subcommands() -> None:
    """Commands defined beside their subject (cohort runs, evaluation, demo and report)."""
    from radiomix.cli_batch import extract_many
    from radiomix.cli_cohort import run, standardise_app
    from radiomix.cli_model import analyse, model_command
    from radiomix.cli_report import demo, report
    from radiomix.cli_stability import stability_command
    from radiomix.cli_weights import weights_app

    app.command("extract-many")(extract_many)
    app.command("run")(run)
    app.add_typer(standardise_app, name="standardise")
    app.command("model")(model_command)
    app.command("analyse")(analyse)
    app.command("demo")(demo)
    app.command("report")(report)
    app.command("stability")(stability_command)
    app.add_typer(weights_app, name="weights")


_register_subcommands()


INTERRUPTED = ("interrupted (Ctrl-C): nothing more is written; `run`, `analyse` and "
               "`stability` keep the cases they finished, so the same command resumes from "
               "them")
"""What a command says when the user interrupts it (exit code 130)."""


def _say_interrupted(signum: int, frame: Any) -> None:
    """SIGINT handler of the command-line process: say what an interruption leaves, then
    interrupt as Python does (a second Ctrl-C interrupts at once, without a word)."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    console.print(Text.assemble(("interrupted", "yellow"), INTERRUPTED[11:]), soft_wrap=True)
    raise KeyboardInterrupt


TERMINATED = ("terminated ({signal}): nothing more is written; `run`, `analyse` and "
              "`stability` keep the cases they finished, so the same command resumes from "
              "them")
"""What a command says when it is asked to stop: SIGTERM (``timeout``, a batch system's
time limit) or SIGHUP (its terminal closed); exit code 128 + the signal's number, as a
process the signal ended."""

_terminated: list[int] = []  # the number of the signal that stopped the command, once


def _say_terminated(signum: int, frame: Any) -> None:
    """SIGTERM and SIGHUP handler of the command-line process: say what stopping leaves,
    then unwind as an interruption does (the pool and the run's lock are released on the
    way). A child process that inherited the handler by a fork ends at once, as the signal
    would end it."""
    import os
    import signal

    signal.signal(signum, signal.SIG_DFL)
    if _main_pid and os.getpid() != _main_pid[0]:
        os.kill(os.getpid(), signum)
        return
    _terminated.append(signum)
    said = TERMINATED.format(signal=signal.Signals(signum).name)
    with contextlib.suppress(OSError):  # a terminal that closed (SIGHUP) takes no output
        console.print(Text.assemble(("terminated", "yellow"), said[10:]), soft_wrap=True)
    raise KeyboardInterrupt


_main_pid: list[int] = []


def main() -> None:
    """Console-script entry point (exit code 2 for usage errors, as click does; 130 when
    interrupted, with :data:`INTERRUPTED` said; 143 or 129 when stopped by SIGTERM or
    SIGHUP, with :data:`TERMINATED` said)."""
    import os
    import signal

    try:  # typer 0.29 carries its own click
        from typer._click.exceptions import NoArgsIsHelpError
        from typer._click.exceptions import UsageError as ClickUsageError
    except ImportError:  # pragma: no cover - a typer on click itself
        from click.exceptions import NoArgsIsHelpError  # type: ignore[assignment,unused-ignore]
        from click.exceptions import (  # type: ignore[assignment,unused-ignore]
            UsageError as ClickUsageError,
        )

    from radiomix._monai import LEAN_ENV

    os.environ.setdefault(LEAN_ENV, "1")  # this process and those it starts are radiomix's
    signal.signal(signal.SIGINT, _say_interrupted)
    _main_pid[:] = [os.getpid()]
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _say_terminated)
    try:
        code = app(prog_name="radiomix", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # a command group without a command: its help
        exc.show()
        sys.exit(exc.exit_code)
    except ClickUsageError as exc:  # a bad option or argument: one line, not a box
        where = exc.ctx.command_path if exc.ctx is not None else "radiomix"
        console.print(Text.assemble(
            ("error", "red"),
            f" (UsageError): {exc.format_message().rstrip('.')}; see {where} --help"),
            soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except typer.Abort:  # end of input at a prompt
        sys.exit(1)
    except InputError as exc:  # pragma: no cover - commands translate their own errors
        console.print(Text.assemble(("error", "red"), f": {exc}"), soft_wrap=True)
        sys.exit(EXIT_USAGE)
    if _terminated:
        sys.exit(128 + _terminated[0])  # 143 for SIGTERM, 129 for SIGHUP, as the shell says
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
