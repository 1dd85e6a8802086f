"""A monitored site as a scope's ``monitor:`` list gives it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

DURATION_RE = re.compile(r"^\s*(?P<amount>\d{1,5})\s*(?P<unit>s|m|h)\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600}
MIN_INTERVAL, MAX_INTERVAL = timedelta(minutes=1), timedelta(days=1)
MIN_TIMEOUT, MAX_TIMEOUT = timedelta(seconds=1), timedelta(seconds=120)


def parse_duration(value: Any) -> timedelta:
    """``"30s"``, ``"5m"``, ``"1h"``; a bare number is seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = DURATION_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration like '30s', '5m' or '1h'")
    return timedelta(seconds=int(match["amount"]) * UNITS[match["unit"]])


class MonitorTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    keyword: str | None = Field(default=None, min_length=1, max_length=500)
    expect: int = Field(default=200, ge=100, le=599)
    interval: timedelta = timedelta(minutes=5)
    timeout: timedelta = timedelta(seconds=10)
    confirm: int = Field(default=2, ge=1, le=100)  # consecutive failures that open an incident
    tls_warn_days: int = Field(default=14, ge=0, le=365)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            # It would be printed in status, reports and alerts.
            raise ValueError("must not carry a user name or password")
        return value

    @field_validator("interval", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if not MIN_INTERVAL <= value <= MAX_INTERVAL:
            raise ValueError("must be between 1m and 24h")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta) -> timedelta:
        if not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
            raise ValueError("must be between 1s and 120s")
        return value


def check_unique(targets: list[MonitorTarget]) -> list[MonitorTarget]:
    seen: set[str] = set()
    for index, target in enumerate(targets):
        if target.url in seen:
            raise ValueError(f"entry {index} repeats the url of an earlier entry")
        seen.add(target.url)
    return targets
