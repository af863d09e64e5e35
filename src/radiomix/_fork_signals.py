"""The first module a cohort's fork server imports: the server ignores Ctrl-C from here on.

A terminal sends Ctrl-C (SIGINT) to the whole process group. Python's fork server starts to
ignore it only once its preloading is done, and the preloading imports the extraction stack,
torch and MONAI for seconds: a Ctrl-C then printed a ``KeyboardInterrupt`` traceback from
the server. The run that started the server says it was interrupted and ends the server and
its workers (which inherit the ignored signal). The run itself imports this module too, when
it plans the warm-up; only a process started with :data:`WARMUP_ENV` set, the server, acts.
"""

from __future__ import annotations

import os
import signal

WARMUP_ENV = "RADIOMIX_FORK_WARMUP"
"""Environment variable ``PID:PATH``: the process that starts a server and the file through
which it hands over the cases (:mod:`radiomix._fork_warmup`)."""

if os.environ.get(WARMUP_ENV):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
