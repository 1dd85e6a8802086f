"""Probe sites over HTTP(S) from the controller, many at a time.

httpx (asyncio) with certificates verified (the system's CAs, plus ``monitor_ca_file`` when
set); a semaphore bounds the probes in flight (``monitor_concurrency``). Each probe has one
deadline, the target's ``timeout``, for all of it: connect, TLS, redirects and the body.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from omctl.monitor.store import Probe
from omctl.monitor.targets import MonitorTarget

MAX_BODY = 2 * 1024 * 1024  # a keyword further into the page than this counts as missing
MAX_ERROR = 200
DAY = 86400


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def _tls_days(response: httpx.Response, at: int) -> int | None:
    stream = response.extensions.get("network_stream")
    tls = stream.get_extra_info("ssl_object") if stream is not None else None
    cert = tls.getpeercert() if tls is not None else None
    if not cert or "notAfter" not in cert:
        return None
    return int((ssl.cert_time_to_seconds(str(cert["notAfter"])) - at) // DAY)


async def _keyword_found(response: httpx.Response, keyword: str) -> bool:
    needle = keyword.encode()
    tail = b""
    read = 0
    async for chunk in response.aiter_bytes():
        window = tail + chunk
        if needle in window:
            return True
        read += len(chunk)
        if read >= MAX_BODY:
            return False
        tail = window[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return False


def _error_text(exc: BaseException, target: MonitorTarget) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no answer within {int(target.timeout.total_seconds())}s"
    cause = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    detail = str(cause) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"[:MAX_ERROR]


async def probe_one(client: httpx.AsyncClient, target: MonitorTarget, at: int) -> Probe:
    started = time.perf_counter()
    status = tls_days = None
    try:
        async with asyncio.timeout(target.timeout.total_seconds()):
            async with client.stream("GET", target.url) as response:
                status = response.status_code
                # After redirects: the certificate of the site that answered.
                tls_days = _tls_days(response, at)
                latency = round((time.perf_counter() - started) * 1000)
                if status != target.expect:
                    return Probe(at, status, latency, tls_days,
                                 f"status {status}, expected {target.expect}")  # fmt: skip
                if target.keyword is not None and not await _keyword_found(
                    response, target.keyword
                ):
                    return Probe(at, status, latency, tls_days,
                                 f"keyword {target.keyword[:40]!r} not on the page")  # fmt: skip
    except (httpx.HTTPError, OSError, TimeoutError, ssl.SSLError) as exc:
        return Probe(at, status, None, tls_days, _error_text(exc, target))
    return Probe(at, status, latency, tls_days, None)


async def _probe_all(
    targets: Sequence[MonitorTarget], at: int, concurrency: int, ca_file: Path | None
) -> list[Probe]:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        verify=tls_context(ca_file),
        follow_redirects=True,
        limits=limits,
        timeout=httpx.Timeout(None),  # each probe's deadline is its own (probe_one)
        headers={"User-Agent": "omctl-monitor"},
        trust_env=False,  # a proxy from the environment would probe the proxy, not the site
    ) as client:

        async def gated(target: MonitorTarget) -> Probe:
            async with gate:
                return await probe_one(client, target, at)

        return list(await asyncio.gather(*(gated(target) for target in targets)))


def probe_all(
    targets: Sequence[MonitorTarget], at: int, concurrency: int, ca_file: Path | None = None
) -> list[Probe]:
    """Probe every target (at most ``concurrency`` at a time); results in the same order."""
    if not targets:
        return []
    return asyncio.run(_probe_all(targets, at, concurrency, ca_file))
