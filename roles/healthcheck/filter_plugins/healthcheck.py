"""The HTTP requests of the healthcheck, from the sites discovery found.

Pure functions, unit-tested in tests/unit/test_healthcheck_filters.py (imported by path).
"""

from __future__ import annotations

from typing import Any

# A discovered site is up when it answers 2xx or 3xx: a redirect (to https, to its canonical
# name) is the site answering, and it is not followed, since its target may be off the host.
SITE_STATUS = list(range(200, 400))


def omctl_healthcheck_site_requests(
    targets: list[dict[str, Any]], headers: dict[str, str], validate_certs: bool
) -> list[dict[str, Any]]:
    """One request per ``omctl_site_targets`` entry: named after the site (its Host header,
    else its id), sent with its Host header over the operator's extra headers, redirects not
    followed, any 2xx or 3xx accepted. Certificates are validated only where the target
    allows it (a TLS-only site is requested on 127.0.0.1, which its certificate does not name)
    and the operator did not turn validation off."""
    requests = []
    for target in targets:
        label = target["host_header"] or target["id"]
        sent = dict(headers)
        if target["host_header"]:
            sent = {k: v for k, v in sent.items() if k.lower() != "host"}
            sent["Host"] = target["host_header"]
        requests.append(
            {
                "name": f"site {label}",
                "label": f"{label} at {target['url']}",
                "site": target["id"],
                "url": target["url"],
                "headers": sent,
                "status": SITE_STATUS,
                "expected": "2xx or 3xx",
                "validate_certs": bool(target["validate_certs"]) and bool(validate_certs),
                "follow_redirects": "none",
            }
        )
    return requests


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"omctl_healthcheck_site_requests": omctl_healthcheck_site_requests}
