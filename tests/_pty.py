"""Run a command under a pseudo-terminal, as a user's shell would (rich draws its progress
bars only on a terminal, so only a pty shows them)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

RADIOMIX = Path(sys.executable).with_name("radiomix")
"""The installed console script beside the test interpreter."""


def run_in_pty(args: list[str], cwd: Path, *, timeout: float = 240.0) -> tuple[int, str]:
    """Run ``args`` with a pseudo-terminal as stdin, stdout and stderr.

    Returns the exit code and everything written to the terminal (control sequences
    included, decoded as UTF-8).
    """
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):  # let rich see the pty itself
        env.pop(name, None)
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=timeout), b"".join(chunks).decode(errors="replace")
