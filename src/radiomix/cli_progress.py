"""Progress display of the command line: one implementation for every long command.

``run``, ``extract-many``, ``analyse``, ``model``, ``demo``, ``ibsi-check`` and ``stability``
show their work through :class:`ProgressDisplay`: one rich bar per stage (description,
bar, done/total, a detail field, elapsed time and ETA) on stderr, drawn only when stderr is
a terminal and ``--quiet`` is not given, and erased when the command ends. Off a terminal
(tests, CI logs, a pipe) nothing is drawn; ``run`` and ``extract-many`` then print one
plain line per case instead (``lines=True``). Warnings are printed once each, also when
quiet.

The library reports progress through callbacks with its own event types
(:class:`radiomix.cohort.Progress`, :class:`radiomix.api.BatchProgress`, the analysis
events, :class:`radiomix.ibsi.CheckProgress`, :class:`radiomix.stability.PerturbProgress`);
the small adapters below turn each into display calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console
    from rich.progress import Progress, TaskID

    from radiomix.api import BatchProgress
    from radiomix.cohort import Progress as CohortProgress
    from radiomix.ibsi import CheckProgress
    from radiomix.stability import PerturbProgress

__all__ = [
    "ProgressDisplay",
    "WarnOnce",
    "analysis_callback",
    "batch_callback",
    "check_callback",
    "cohort_callback",
    "log_handler",
    "perturb_callback",
    "plain_console",
]


def plain_console(*, stderr: bool = False) -> Console:
    """A rich console that prints every string as it is given.

    No markup, emoji code or highlighting is read from the text: messages carry file, ROI,
    perturbation and case names, and in them ``[/x]`` would end a rich tag (a crash),
    ``[bold]`` would vanish and ``volume:-1:`` would become an emoji. Styled words are
    :class:`rich.text.Text` parts (``Text.assemble(("error", "red"), ": ...")``).
    """
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


class ProgressDisplay:
    """Bars with ETA on a terminal, optional plain lines elsewhere, nothing when quiet.

    Parameters
    ----------
    console : rich.console.Console
        The stderr console of the command.
    quiet : bool
        ``--quiet``: no bar, no progress lines (warnings are still printed).
    lines : bool
        Print :meth:`line` texts when the console is not a terminal (``run`` and
        ``extract-many`` log one line per case there); otherwise such texts are dropped.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> with ProgressDisplay(Console(file=io.StringIO()), quiet=False) as shown:
    ...     shown.update("checking", 1, 2)  # not a terminal: nothing drawn
    ...     shown.live
    False
    """

    def __init__(self, console: Console, *, quiet: bool, lines: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self.lines = lines and not quiet and not self.live
        self.bar: Progress | None = None  # the rich display while it is shown
        self.tasks: dict[str, TaskID] = {}
        self.warned: set[str] = set()

    def update(self, stage: str, done: int | None, total: int | None, *, detail: str = "") -> None:
        """Show ``done`` of ``total`` on the bar of ``stage`` (created on first use).

        ``total`` None: a step of unknown length (a pulsing bar, or the stage's known total
        kept); ``done`` None: the count kept (only ``detail`` changes).
        """
        if not self.live:
            return
        if self.bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}", markup=False),  # case names
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, detail=detail)
        self.bar.update(self.tasks[stage], completed=done, total=total, detail=detail)

    def note(self, text: str) -> None:
        """Print a status line unless quiet (on a terminal too, above the bar)."""
        if not self.quiet:
            self.console.print(text, highlight=False, soft_wrap=True)

    def line(self, text: str) -> None:
        """Print a progress line off a terminal when ``lines`` was asked for."""
        if self.lines:
            self.console.print(text, highlight=False, soft_wrap=True)

    def warn(self, message: str) -> None:
        """Print ``warning: message``, once per distinct message, also when quiet."""
        if message in self.warned:
            return
        self.warned.add(message)
        from rich.text import Text

        self.console.print(
            Text.assemble(("warning", "bold yellow"), f": {message}"),
            highlight=False,
            soft_wrap=True,
        )

    def close(self) -> None:
        """Erase the bars (safe to call twice)."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
            self.tasks = {}

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def log_handler(console: Console) -> logging.Handler:
    """The command line's log handler: rich's (columns, wrapped to the width) on a
    terminal; one line per record (``WARNING  message``) in a log file or a pipe, where a
    message wrapped at 80 columns could not be found with grep."""
    if console.is_terminal:
        from rich.logging import RichHandler

        return RichHandler(console=console, show_path=False)
    handler = logging.StreamHandler(console.file)
    handler.setFormatter(logging.Formatter("%(levelname)-8s %(message)s"))
    return handler


SAID: set[str] = set()
"""The warning messages the command line has printed (:class:`WarnOnce`), so that a
summary listing a document's warnings does not print them a second time."""


class WarnOnce(logging.Filter):
    """Logging filter of the command line's handler: each distinct warning (logger and
    message) passes once; a warning repeated for every case or fold is dropped. The texts
    it lets through are kept in :data:`SAID`."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key = (record.name, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        SAID.add(key[1])
        return True


def _seconds(value: float) -> str:
    """A case's own time: ``0.82 s``, ``12.3 s``, ``95 s``.

    Examples
    --------
    >>> _seconds(0.8234), _seconds(12.34), _seconds(95.2)
    ('0.82 s', '12.3 s', '95 s')
    """
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s" if value < 60 else f"{value:.0f} s"


def cohort_callback(
    shown: ProgressDisplay, *, summary: bool = True
) -> Callable[[CohortProgress], None]:
    """Callback of :func:`radiomix.cohort.run_study`: the summary line (``summary``), then a
    bar over the cases to compute (or one line per case off a terminal: ``[2/6] P1/1/ct ok
    (0.82 s, 3 s elapsed)``, the case's own time, then the time since the run started)."""

    def callback(p: CohortProgress) -> None:
        if p.event == "start":
            if summary:
                shown.note(f"{p.total} cases: {p.cached} current (skipped), {p.todo} to compute")
            if p.todo:
                shown.update("extracting", 0, p.todo, detail=f"{p.failed} failed")
        elif p.event == "case":
            shown.update("extracting", p.computed, p.todo, detail=f"{p.failed} failed")
            took = "" if p.case_s is None else f"{_seconds(p.case_s)}, "
            shown.line(f"[{p.computed}/{p.todo}] {p.case} {p.status} "
                       f"({took}{p.elapsed_s:.0f} s elapsed)")
        elif p.event == "end":
            shown.close()

    return callback


def batch_callback(shown: ProgressDisplay) -> Callable[[BatchProgress], None]:
    """Callback of :func:`radiomix.api.extract_many`: a bar over the cases (or one line per
    case off a terminal, ending with the time since the run started: ``[2/6] 1 ok (3 s
    elapsed)``)."""

    def callback(p: BatchProgress) -> None:
        if p.event == "start":
            shown.line(f"{p.total} cases to extract")
        else:
            shown.line(f"[{p.done}/{p.total}] {p.case_id} {p.status} "
                       f"({p.elapsed_s:.0f} s elapsed)")
        shown.update("extracting", p.done, p.total, detail=f"{p.failed} failed")

    return callback


def analysis_callback(shown: ProgressDisplay) -> Callable[[Any], None]:
    """Callback of the analysis engine (``analyse``, ``model``, ``demo``): one bar per stage
    (features, analysis, report) with the current step as detail; warnings printed once
    each."""

    def callback(e: Any) -> None:
        if getattr(e, "level", "info") == "warning":
            shown.warn(e.message)
            return
        detail = e.message if len(e.message) <= 40 else e.message[:39] + "…"
        done = (e.done or 0) if e.total is not None else None  # a step of unknown length
        shown.update(getattr(e, "stage", "analysis"), done, e.total, detail=detail)

    return callback


def check_callback(
    shown: ProgressDisplay, *, stage: str = "checking"
) -> Callable[[CheckProgress], None]:
    """Callback of :func:`radiomix.ibsi.check` and :func:`radiomix.ibsi.check_ibsi2`."""

    def callback(p: CheckProgress) -> None:
        shown.update(stage, p.done, p.total, detail=p.item)

    return callback


def perturb_callback(shown: ProgressDisplay) -> Callable[[PerturbProgress], None]:
    """Callback of the perturbation step of :func:`radiomix.stability.run_stability`."""

    def callback(p: PerturbProgress) -> None:
        shown.update("perturbing", p.done, p.total, detail=p.case)

    return callback
