"""Alerts through apprise (e-mail, Slack, Teams, Matrix, ntfy, webhooks and many more).

Notification URLs come from the ``notify`` setting (``omctl.toml`` or ``OMCTL_NOTIFY``,
space-separated) and a client's ``notify:`` in its scope. They hold tokens and passwords, so
omctl never prints one: a problem names the URL by its position and scheme only.

One alert per incident: ``AlertLog`` (``.omctl/alerts/<client>.json``) remembers what was sent, so a
tick every five minutes sends an overdue task once, and a reminder only after
``remind_hours``; an incident that is over is forgotten, and alerts again if it returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from omctl import files
from omctl.errors import BadInput

FAILURE, WARNING, INFO = "failure", "warning", "info"


@dataclass(frozen=True)
class Alert:
    key: str  # what the incident is, e.g. "overdue:acme:backup:2026-12-01"
    title: str
    body: str
    level: str = FAILURE


def scheme(url: str) -> str:
    return url.split("://", 1)[0] + "://" if "://" in url else "?"


def send(urls: Iterable[str], alert: Alert) -> list[str]:
    """Send ``alert`` to each URL; the problems, one line each, naming URLs by scheme only."""
    import apprise  # 0.3 s to import: only when something is sent

    # apprise logs failures with the URL in them; omctl reports them itself, without it.
    logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)
    kind = {FAILURE: apprise.NotifyType.FAILURE, WARNING: apprise.NotifyType.WARNING,
            INFO: apprise.NotifyType.INFO}[alert.level]  # fmt: skip
    problems = []
    for index, url in enumerate(urls, start=1):
        target = apprise.Apprise()
        if not target.add(url):
            problems.append(f"notification URL {index} ({scheme(url)}) is not one apprise knows")
            continue
        if not target.notify(title=alert.title, body=alert.body, notify_type=kind):
            problems.append(f"notification URL {index} ({scheme(url)}) did not take the message")
    return problems


class AlertLog:
    """What was alerted and when, so that an incident is alerted once (and reminded)."""

    def __init__(self, folder: Path, client: str):
        self.path = folder / f"{client}.json"
        try:
            data: Any = json.loads(self.path.read_text())
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError):
            data = {}  # an unreadable log costs a repeated alert, never a lost one
        self.sent: dict[str, str] = data if isinstance(data, dict) else {}

    def due(self, key: str, now: datetime, remind: timedelta) -> bool:
        last = self.sent.get(key)
        return last is None or now - datetime.fromisoformat(last) >= remind

    def mark(self, key: str, now: datetime) -> None:
        self.sent[key] = now.isoformat()

    def forget_except(self, prefixes: str | tuple[str, ...], active: set[str]) -> None:
        """Forget the incidents under ``prefixes`` that are over (not in ``active``)."""
        for key in [k for k in self.sent if k.startswith(prefixes) and k not in active]:
            del self.sent[key]

    def save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        files.write_atomic(self.path, json.dumps(self.sent, indent=1, sort_keys=True) + "\n", 0o600)


def deliver(
    urls: list[str], alerts: list[Alert], log: AlertLog, now: datetime, remind: timedelta
) -> list[str]:
    """Send the alerts that are due (new, or past their reminder) and mark those that went
    out; the problems. Nothing is marked sent when no URL took it."""
    problems: list[str] = []
    for alert in alerts:
        if not urls or not log.due(alert.key, now, remind):
            continue
        failed = send(urls, alert)
        problems += failed
        if len(failed) < len(urls):
            log.mark(alert.key, now)
    return problems


def check_urls(urls: list[str]) -> None:
    if not urls:
        raise BadInput(
            "no notification URL: set notify in omctl.toml, OMCTL_NOTIFY or the scope's notify:"
        )
