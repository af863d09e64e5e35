"""``radiomix weights``: install and list the published network weight files.

``radiomix weights add FILE`` checks a file fetched elsewhere (no network is needed here)
against its published hash and copies it into the cache folder where ``--deep`` finds it;
``radiomix weights list`` shows what is cached, which ``--deep`` modes use each file and
where to get it. Registered in :mod:`radiomix.cli`.

Exit codes: 0 success, 1 the file is not a published one or fails its hash, 2 usage error
(the cache cannot be written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from radiomix.cli_progress import plain_console
from radiomix.errors import RadiomixError, UsageError

EXIT_OK, EXIT_CASE_ERROR, EXIT_USAGE = 0, 1, 2

weights_app = typer.Typer(
    help="Network weight files for --deep: install a downloaded file, list the cache.",
    no_args_is_help=True,
    add_completion=False,
)

_VERIFIED = {
    "sha256": "SHA-256 verified",
    "hash-prefix": "hash prefix verified",
    "unverified": "no published hash: SHA-256 recorded, not verified",
}


def _fail(console: Console, exc: RadiomixError) -> typer.Exit:
    console.print(
        Text.assemble(("error", "red"), f" ({type(exc).__name__}): {exc}"), soft_wrap=True
    )
    return typer.Exit(EXIT_USAGE if isinstance(exc, UsageError) else EXIT_CASE_ERROR)


@weights_app.command("add")
def add(
    file: Annotated[
        Path,
        typer.Argument(help="Downloaded weight file, e.g. resnet18-f37072fd.pth."),
    ],
    force: Annotated[
        bool, typer.Option(help="Replace a different file cached under the same name.")
    ] = False,
) -> None:
    """Check a downloaded weight file against its published hash and copy it into the cache."""
    from radiomix.deep.weights import add_weights_file, cache_dir

    console = plain_console(stderr=True)
    try:
        entry, how, copied = add_weights_file(file, force=force)
    except RadiomixError as exc:
        raise _fail(console, exc) from None
    except OSError as exc:  # the cache cannot be written (a file where it goes, a full disk)
        raise _fail(console, UsageError(
            f"cannot write the weight cache {cache_dir()}: {exc.strerror or exc}; set "
            "RADIOMIX_CACHE to a folder you can write, or free space on its disk")) from None
    k = entry.known
    verb = "copied to" if copied else "already in the cache:"
    console.print(
        f"{k.name} {k.spatial_dims}D {k.model} ({_VERIFIED[how]}) {verb} {entry.path}; "
        f"use it with --deep {k.model}:{entry.modes[0]} --deep-weights {k.name}",
        highlight=False,
        soft_wrap=True,
    )


@weights_app.command("list")
def list_weights() -> None:
    """Show every published weight file: cached or not, the --deep modes that use it, its URL."""
    from radiomix.deep.weights import cache_dir, cached_weights

    out = plain_console()
    folder = cache_dir()
    missing = mismatched = 0
    # plain lines: a table would truncate file names and URLs; each cached file with a
    # published hash is checked as a run checks it (about 0.1 s per file)
    for w in cached_weights(verify=True):
        k = w.known
        state = "missing"
        if w.size_bytes is not None:
            state = f"cached ({w.size_bytes / 1e6:.1f} MB)"
            if w.verified in ("mismatch", "unreadable", "other-network"):
                state = {"mismatch": "HASH MISMATCH (not the published file)",
                         "unreadable": "UNREADABLE",
                         "other-network": "ANOTHER NETWORK'S WEIGHTS"}[w.verified]
                mismatched += 1
        missing += w.size_bytes is None
        out.print(
            f"{k.name:<10} {k.spatial_dims}D {k.model:<8} {state:<18} "
            f"--deep {k.model}:{'|'.join(w.modes)} --deep-weights {k.name}",
            highlight=False,
            soft_wrap=True,
        )
        out.print(f"    {k.filename}  from {k.url}", highlight=False, soft_wrap=True)
    out.print(f"cache folder: {folder}", highlight=False, soft_wrap=True)
    if mismatched:
        out.print(
            f"{mismatched} cached file(s) are damaged or not the published ones (a run refuses "
            "them): "
            "delete them and install the published files with radiomix weights add FILE, or "
            "rename them to use them as your own weights (--deep-weights PATH)",
            highlight=False,
            soft_wrap=True,
        )
    if missing:
        out.print(
            "to install a file: download it on a machine with network access, then run "
            "radiomix weights add FILE (it checks the published hash and copies the file "
            "into the cache folder: $RADIOMIX_CACHE/weights when RADIOMIX_CACHE is set, "
            "otherwise $TORCH_HOME/hub/checkpoints)",
            highlight=False,
            soft_wrap=True,
        )
