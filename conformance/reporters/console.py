"""The console reporter: a progress bar per layer, a table per requirement, then the evidence.

For each failure it prints the request sequence as curl commands with the responses, and the
command that replays the run with the same seed.
"""

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from conformance.events import Event, LayerStarted, RunFinished, RunStarted
from conformance.events import Progress as ProgressEvent
from conformance.reporters.report import Report
from conformance.results import Result, RunVerdict, Verdict

STYLES = {
    Verdict.PASSED: "green",
    Verdict.FAILED: "bold red",
    Verdict.ERROR: "bold yellow",
    Verdict.SKIPPED: "dim",
}
HEADLINES = {
    RunVerdict.CONFORMANT: "[green]CONFORMANT[/green]",
    RunVerdict.NOT_CONFORMANT: "[red]NOT CONFORMANT[/red]",
    RunVerdict.NOTHING_EXERCISED: "[red]NO VERDICT: no MUST requirement was exercised[/red]",
}
NOTE_LINE = "Note: {note}"
FIXABLE_TITLE = "{count} MUST requirement(s) skipped, not passed; these options would check them:"
FIXABLE_LINE = "  {id}: {fix} ({reason})"
CI_WIDTH = 140


def _console() -> Console:
    """A console that keeps the table readable in CI logs too (80 columns is rich's default
    when the output is not a terminal, which would fold every requirement ID)."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=CI_WIDTH)
    return console


class ConsoleReporter:
    """Live progress and the final summary on a rich console."""

    def __init__(self, console: Console | None = None, replay: str = ""):
        self.console = console or _console()
        self.replay = replay
        self.report: Report | None = None
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def start(self, event: RunStarted) -> None:
        self.report = Report.from_start(event, self.replay)
        self.console.print(
            f"[bold]conformance[/bold] {event.api} at {event.base_url} "
            f"(profile {event.profile}, seed {event.seed}, {len(event.requirements)} requirements)"
        )

    def handle_event(self, event: Event) -> None:
        if isinstance(event, LayerStarted):
            self._progress_bar().start()
            self._tasks[event.layer] = self._progress_bar().add_task(event.layer, total=event.total)
        elif isinstance(event, ProgressEvent) and event.layer in self._tasks:
            self._progress_bar().update(self._tasks[event.layer], completed=event.done)
        elif isinstance(event, RunFinished):
            self._stop_progress()
            if self.report is not None:
                self.report.finish(event)
                self._summary(self.report)

    def shutdown(self) -> None:
        self._stop_progress()

    def _progress_bar(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description:>10}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self.console,
                transient=False,
            )
        return self._progress

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _summary(self, report: Report) -> None:
        for note in report.notes:
            self.console.print(Text(NOTE_LINE.format(note=note), style="yellow"))
        if report.error:
            self.console.print(f"[bold red]Could not run:[/bold red] {report.error}")
            return
        table = Table(title=f"{report.api}: requirements", show_lines=False)
        table.add_column("ID", no_wrap=True)
        for column in ("Level", "Verdict", "Cases", "Message"):
            table.add_column(column, overflow="fold")
        for result in report.results:
            table.add_row(
                result.requirement.id,
                result.requirement.level,
                Text(result.verdict.value.upper(), style=STYLES[result.verdict]),
                str(result.cases),
                Text(result.message),  # whole, wrapped by the table: never cut
            )
        self.console.print(table)
        for result in report.problems():
            self._evidence(result, report)
        self._fixable(report)
        counts = ", ".join(f"{n} {v}" for v, n in report.counts().items())
        verdict = HEADLINES[report.verdict]
        self.console.print(f"{verdict} ({counts}) in {report.duration_s:.1f} s, seed {report.seed}")

    def _fixable(self, report: Report) -> None:
        """Skipped MUSTs are not passed: each, with the option that would check it."""
        skipped = report.fixable()
        if not skipped:
            return
        self.console.print(Text(FIXABLE_TITLE.format(count=len(skipped)), style="bold yellow"))
        for result in skipped:
            reason = result.message.splitlines()[0] if result.message else ""
            line = FIXABLE_LINE.format(id=result.requirement.id, fix=result.fix, reason=reason)
            self.console.print(Text(line))

    def _evidence(self, result: Result, report: Report) -> None:
        requirement = result.requirement
        self.console.rule(
            f"{requirement.id} {requirement.level} {result.verdict.value.upper()}", style="red"
        )
        self.console.print(Text(requirement.statement, style="bold"))
        self.console.print(Text(result.message))
        for number, exchange in enumerate(result.exchanges, 1):
            self.console.print(Text(f"[{number}] {exchange.as_curl()}", style="cyan"))
            self.console.print(Text(f"    -> {exchange.response_text(1000)}"))
        if result.seed is not None:
            self.console.print(Text(f"Replay (seed {result.seed}): {report.replay}"))
