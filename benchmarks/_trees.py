"""Two source trees side by side: the measuring script run once per tree, alternately.

``bench_steps.py`` and ``bench_filters.py`` compare this checkout with another tree (a
``git worktree`` of an earlier commit): each round runs the script's measuring mode in one
fresh process per tree with ``PYTHONPATH`` set to that tree's ``src`` folder, the order
alternating between rounds, and reads the JSON the process prints last.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def source_trees(baseline_src: str | None) -> dict[str, str]:
    """``{"radiomix": <this checkout's src>}``, with ``"baseline"`` when one is given."""
    trees = {"radiomix": str(HERE.parent / "src")}
    if baseline_src:
        trees["baseline"] = baseline_src
    return trees


def run_alternating(trees: dict[str, str], rounds: int, cmd: list[str]) -> dict[str, list[Any]]:
    """The JSON printed last by ``cmd`` in one process per tree and round, by tree."""
    results: dict[str, list[Any]] = {t: [] for t in trees}
    for r in range(rounds):
        for tree in list(trees) if r % 2 == 0 else list(reversed(trees)):
            done = subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=trees[tree]),
                                  capture_output=True, text=True, check=True)
            results[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results
