"""omctl show: one run, its host results and its evidence (a module of its own: the evidence
models cost ``omctl history`` half its start-up)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from omctl import console, ledger
from omctl import evidence as evidence_models
from omctl.cli import common, evidence
from omctl.cli.common import JsonOption
from omctl.cli.run_output import print_summary
from omctl.errors import BadInput


def _resolve(book: ledger.Ledger, run_id: str) -> ledger.Run:
    found = ledger.get_run(book, run_id)
    if found is not None:
        return found
    matches = book.run_ids(run_id)
    if len(matches) == 1 and (unique := ledger.get_run(book, matches[0])) is not None:
        return unique
    if matches:
        raise BadInput(f"run id {run_id!r} is ambiguous ({len(matches)} runs start with it)")
    raise BadInput(f"no run {run_id!r} in the ledger")


def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    as_json: JsonOption = False,
) -> None:
    """Show one run: its record, per-host results and the evidence its roles published."""
    with common.open_ledger(ctx) as book:
        found = _resolve(book, run_id)
        signed_by = book.signers([found.first_seq]).get(found.first_seq)
    if as_json:
        shown = {**found.as_dict(), "signed_by": signed_by}
        # Present only when a record does not match its model (omctl/evidence/).
        if invalid := evidence_models.invalid_records(found.hosts):
            shown["invalid_evidence"] = invalid
        console.emit_json(shown)
        return
    details = {**found.as_dict(), "signed_by": signed_by}
    for key in (
        "client", "contract", "task", "category", "status", "in_scope", "out_of_scope_reason",
        "refusal_reason", "no_backup_check_reason", "check", "diff", "limit", "targets",
        "extra_vars", "operator", "signed_by", "trigger", "omctl_version", "workspace_commit",
        "started_at", "ended_at", "message",
    ):  # fmt: skip
        value = details.get(key)
        if value not in (None, [], ""):
            console.out.print(f"{key + ':':<20} {escape(str(value))}", highlight=False)
    if found.hosts:
        print_summary(found)
    for host, result in found.hosts.items():
        for kind, data in result.evidence.items():
            evidence.render(kind, host, data)
