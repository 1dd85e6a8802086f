"""Readable views of the evidence roles publish; JSON stays the full record (--json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from omctl import console, evidence
from omctl.evidence import Evidence
from omctl.evidence import text as evidence_text
from omctl.evidence.rows import Mark, Piece, Row, State

if TYPE_CHECKING:  # the models are imported when a record of their kind is read
    from omctl.evidence.access_review import AccessReview
    from omctl.evidence.backup import Backup
    from omctl.evidence.backup_check import BackupCheck
    from omctl.evidence.baseline import Baseline
    from omctl.evidence.config_tuning import ConfigTuning
    from omctl.evidence.content_sync import ContentSync
    from omctl.evidence.drift import Drift
    from omctl.evidence.hardening import Hardening
    from omctl.evidence.healthcheck import Healthcheck
    from omctl.evidence.incident import Incident
    from omctl.evidence.inventory import Inventory
    from omctl.evidence.patching import Patching
    from omctl.evidence.restore_drill import RestoreDrill
    from omctl.evidence.restore_drill_check import RestoreDrillCheck
    from omctl.evidence.vulnerability_scan import VulnerabilityScan
    from omctl.evidence.wordpress_update import WordPressUpdate

STYLES: dict[State, str] = {
    "ok": "green",
    "warning": "yellow",
    "failed": "bold red",
    "error": "red",
    "changed": "bold yellow",
}


def _piece(piece: Piece) -> str:
    """One piece of a model's row as markup: plain text escaped, a mark in its state's style."""
    if isinstance(piece, Mark):
        return f"[{STYLES[piece.state]}]{escape(piece.text)}[/]"
    return escape(piece)


def _cells(pieces: tuple[Piece, ...]) -> str:
    return "".join(_piece(piece) for piece in pieces)


def _add_rows(table: Table, rows: list[Row]) -> None:
    for label, value in rows:
        table.add_row(_cells(label), _cells(value))


def _print_rows(
    rows: list[Row],
    title: str | None = None,
    *,
    fold: bool = False,
    columns: tuple[str, str] | None = None,
) -> None:
    """A model's rows as a table: bold labels and no header, or the two named ``columns``."""
    table = Table(title=title, title_justify="left", show_header=columns is not None, box=None)
    if columns is None:
        table.add_column(style="bold")
        table.add_column(**({"overflow": "fold"} if fold else {}))
    else:
        for column in columns:
            table.add_column(column)
    _add_rows(table, rows)
    console.out.print(table)


def baseline(host: str, record: Baseline) -> None:
    _print_rows(record.show_rows(), f"baseline of {host} at {record.collected_at}")


def healthcheck(host: str, record: Healthcheck) -> None:
    verdict = "[green]healthy[/]" if record.ok else "[bold red]unhealthy[/]"
    title = f"healthcheck of {host}: {verdict}"
    _print_rows(record.show_rows(), title, columns=("check", "result"))


def access_review(host: str, record: AccessReview) -> None:
    console.out.print(f"[bold]access review of {escape(host)}[/]: "
                      f"{escape(record.summary_line())}", highlight=False)  # fmt: skip
    days = Table(box=None, title_justify="left")
    for column in ("day", "requests", "unique visitors", "bytes"):
        days.add_column(column, justify="left" if column == "day" else "right")
    for day in record.day_rows():
        days.add_row(*(escape(cell) for cell in day))
    console.out.print(days)
    _print_rows(record.show_rows(), fold=True)
    proposals = record.proposal_rows()
    console.out.print(f"[bold]proposals[/] ({len(proposals) or 'none'}):")
    for number, proposal in enumerate(proposals, start=1):
        console.out.print(
            f"  {number}. [bold]{escape(str(proposal['title']))}[/]: "
            f"{escape(str(proposal['why']))}\n     {escape(str(proposal['action']))}",
            highlight=False,
        )


def patching(host: str, record: Patching) -> None:
    status = _piece(Mark(record.status, record.state) if record.state else record.status)
    check = " (--check: nothing changed)" if record.check else ""
    _print_rows(record.show_rows(), f"patching of {host}: {status}{check}")


def backup(host: str, record: Backup) -> None:
    verdict = "[green]ok[/]" if record.ok else "[bold red]FAILED[/]"
    _print_rows(record.show_rows(), f"backup of {host} (run {record.run or '?'}): {verdict}")


def _check(what: str, host: str, record: BackupCheck | RestoreDrillCheck, nothing: str) -> None:
    verdict = "[green]ok[/]" if record.ok else "[bold red]FAILED[/]"
    title = f"{what} of {host}: {verdict} (check mode: {nothing})"
    _print_rows(record.show_rows(), title, fold=True)


def backup_check(host: str, record: BackupCheck) -> None:
    """`omctl run CLIENT backup --check`: what the backup would find and store."""
    _check("backup check", host, record, "nothing backed up")


def restore_drill_check(host: str, record: RestoreDrillCheck) -> None:
    """`omctl run CLIENT restore_drill --check`: what the drill would restore, and where."""
    _check("restore drill check", host, record, "nothing restored")


def restore_drill(host: str, record: RestoreDrill) -> None:
    verdict = "[green]passed[/]" if record.ok else "[bold red]FAILED[/]"
    age = record.snapshot_age_seconds
    rpo = f"{age / 3600:.1f} h" if age is not None else "?"
    title = (
        f"restore drill of {host}: {verdict} - backup run {record.run or '?'}, "
        f"snapshot age (RPO) {rpo}, time to restore "
        f"{evidence_text.seconds(record.time_to_restore_seconds)}"
    )
    _print_rows(record.show_rows(), title, columns=("check", "result"))


def config_tuning(host: str, record: ConfigTuning) -> None:
    state = _piece(record.state)
    console.out.print(f"[bold]config tuning of {escape(host)}[/]: {state}", highlight=False)
    console.out.print(f"  {escape(record.sizing_line())}", highlight=False)
    table = Table(box=None, title_justify="left")
    for column in ("setting", "old", "new", "file"):
        table.add_column(column, overflow="fold")
    for name, old, new, file in record.setting_rows():
        table.add_row(escape(name), escape(old), _piece(new), escape(file))
    console.out.print(table)
    for note in record.notes or []:
        console.out.print(f"  note: {escape(str(note))}", highlight=False)
    if record.reloaded:
        console.out.print(f"  reloaded: {', '.join(record.reloaded)}", highlight=False)
    if record.error:
        console.out.print(f"  [red]{escape(record.error)}[/]", highlight=False)
    for diff in record.diffs or []:
        console.out.print(escape(str(diff)).rstrip("\n"), highlight=False)


def hardening(host: str, record: Hardening) -> None:
    mode = " (check mode: nothing changed)" if record.check_mode else ""
    _print_rows(record.show_rows(), f"hardening of {host}{mode}")


def content_sync(host: str, record: ContentSync) -> None:
    action = "rollback" if record.rollback else "content sync"
    state = _piece(record.outcome_text)
    console.out.print(f"[bold]{action} of {escape(host)}[/]: {state}", highlight=False)
    _print_rows(record.show_rows(), fold=True)


def incident(host: str, record: Incident) -> None:
    mode = " (check mode: nothing changed)" if record.check_mode else ""
    severity = _piece(Mark(record.severity, record.state))
    console.out.print(f"[bold]incident on {escape(host)}[/]: {severity}{mode}", highlight=False)
    console.out.print(f"  {escape(str(record.summary or ''))}", highlight=False)
    table = Table(box=None, title_justify="left")
    for column in ("check", "severity", "finding"):
        table.add_column(column, overflow="fold")
    for finding in record.finding_rows():
        table.add_row(escape(finding["check"]), _piece(finding["severity"]),
                      escape(finding["finding"]))  # fmt: skip
    console.out.print(table)
    for line in record.timeline_lines():
        console.out.print(f"  {escape(line)}", highlight=False)
    actions = record.action_rows()
    if actions:
        done = Table(title="recovery actions", box=None, title_justify="left")
        for column in ("action", "target", "reason", "result"):
            done.add_column(column, overflow="fold")
        for action in actions:
            done.add_row(*(escape(cell) for cell in action))
        console.out.print(done)
    elif not record.recover:
        console.out.print(
            "  read-only: no recovery attempted (diagnose_recover=true applies the safe ones)",
            highlight=False,
        )


def inventory(host: str, record: Inventory) -> None:
    console.out.print(f"[bold]inventory[/] of {host}: {_cells(record.show_line())}")


def drift(host: str, record: Drift) -> None:
    what = f"[bold]drift check[/] of {escape(record.task)} on {escape(host)}"
    console.out.print(f"{what}: {_cells(record.show_line(host))}")


def vulnerability_scan(host: str, record: VulnerabilityScan) -> None:
    _print_rows(record.show_rows(), f"vulnerability scan of {host} at {record.scanned_at}",
                fold=True)  # fmt: skip


def wordpress_update(host: str, record: WordPressUpdate) -> None:
    _print_rows(record.show_rows(), f"WordPress updates of {host}", fold=True)


def generic(kind: str) -> Callable[[str, Any], None]:
    def render(host: str, data: Any) -> None:
        console.out.print(f"[bold]{kind}[/] of {host}:")
        console.out.print(escape(json.dumps(data, indent=2, sort_keys=True, default=str)))

    return render


RENDERERS: dict[str, Callable[[str, Any], None]] = {  # kind -> renderer of its model
    "incident": incident,
    "baseline": baseline,
    "healthcheck": healthcheck,
    "backup": backup,
    "restore_drill": restore_drill,
    "backup_check": backup_check,
    "restore_drill_check": restore_drill_check,
    "patching": patching,
    "access_review": access_review,
    "config_tuning": config_tuning,
    "content_sync": content_sync,
    "hardening": hardening,
    "inventory": inventory,
    "drift": drift,
    "vulnerability_scan": vulnerability_scan,
    "wordpress_update": wordpress_update,
}


def not_applicable(host: str, record: Evidence) -> None:
    """What a role skipped because the host lacks it ("no web server: site checks not
    applicable"): every kind may list it under ``not_applicable``, and it is always shown."""
    for reason in record.not_applicable or []:
        console.out.print(f"  {escape(host)}: [yellow]not applicable[/] {escape(str(reason))}")


def render(kind: str, host: str, data: Any) -> None:
    """One record through its model; one that does not match is named and shown raw."""
    record = evidence.parse(kind, data)
    if isinstance(record, evidence.Invalid):
        console.out.print(f"[bold yellow]{escape(record.message(host))}[/]", highlight=False)
    renderer = RENDERERS.get(kind)
    if renderer is None or not isinstance(record, Evidence):
        generic(kind)(host, data)
        return
    renderer(host, record)
    not_applicable(host, record)
