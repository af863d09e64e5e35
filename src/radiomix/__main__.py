"""The ``radiomix`` console script and ``python -m radiomix``.

Kept light on purpose: a worker process that multiprocessing starts by ``spawn`` or from
its fork server runs the parent's main script again (as ``__mp_main__``) before its first
task. With the command line (typer, rich and every command's module) imported only inside
:func:`main`, that costs a worker nothing; with ``radiomix.cli`` as the script's import it
cost each one about 85 ms of CPU (the bridge worker, each forked worker and the fork
server's probe of a ``radiomix run --jobs 2``).
"""

from __future__ import annotations


def main() -> None:
    """Run the command line (:func:`radiomix.cli.main`)."""
    from radiomix.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
