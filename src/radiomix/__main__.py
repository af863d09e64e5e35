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
    """Run the command line (:func:`radiomix.cli.main`).

    The process ends with the command: what it holds is frozen first (:func:`gc.freeze`),
    so that the interpreter's collections at exit do not walk it (with torch and MONAI
    imported, hundreds of thousands of objects, walked by each of the collections of the
    interpreter's shutdown). Measured on the sarcoma study (``radiomix run
    examples/sts/study.yaml --jobs 1``, four alternating pairs): 14.14 s wall without this
    freeze nor the run's own (:func:`radiomix.cohort._frozen_heap`), 13.09 s with both,
    13.43 s with this one alone.
    """
    from radiomix.cli import main as cli_main

    try:
        cli_main()
    finally:
        import gc

        gc.freeze()


if __name__ == "__main__":
    main()
