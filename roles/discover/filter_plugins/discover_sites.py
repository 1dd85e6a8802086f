"""What the roles take from discovery (``discover_found``): the sites the host can request
itself, the ports they listen on and the service units that exist.

Pure functions over the fact, so each rule is explicit and unit-tested
(tests/unit/test_discover_sites.py imports this file).
"""

from __future__ import annotations

from typing import Any

# Addresses that accept connections on every interface: the host reaches them on loopback.
_WILDCARD_V4 = {"*", "0.0.0.0", "_default_", ""}
_WILDCARD_V6 = {"[::]"}
_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "localhost.localdomain"}


def _request_host(address: str) -> str | None:
    """The host part of a URL that reaches a listen address from the host itself; None for
    what the host cannot request over TCP (a unix socket)."""
    if address.startswith("unix:"):
        return None
    if address in _WILDCARD_V4 or address.lower() in _LOOPBACK_NAMES:
        return "127.0.0.1"
    if address in _WILDCARD_V6:
        return "[::1]"
    return address  # 127.0.0.1, [::1], or the address of one interface of the host


def _host_header(names: list[str]) -> str | None:
    """The first real server name: not nginx's catch-all ``_`` or empty name, a wildcard or a
    regular expression; Apache's ``name:port`` loses its port."""
    for raw in names:
        name = raw.strip().lower()
        if not name or name == "_" or name.startswith("~") or "*" in name:
            continue
        if not name.startswith("[") and name.count(":") == 1:
            name = name.partition(":")[0]
        return name or None
    return None


def _listen_rank(entry: dict[str, Any]) -> tuple[int, int, int]:
    """Plain HTTP before TLS, IPv4 before IPv6, port 80/443 before others."""
    address = str(entry.get("address") or "*")
    ipv6 = address.startswith("[")
    port = entry.get("port")
    usual = port == (443 if entry.get("ssl") else 80)
    return (1 if entry.get("ssl") else 0, 1 if ipv6 else 0, 0 if usual else 1)


def _wordpress_by_site(found: dict[str, Any]) -> dict[str, str]:
    """Site id -> the path of the first WordPress install serving it."""
    serving: dict[str, str] = {}
    for install in found.get("wordpress") or []:
        for site_id in install.get("sites") or []:
            serving.setdefault(site_id, install["path"])
    return serving


def omctl_site_targets(found: dict[str, Any]) -> list[dict[str, Any]]:
    """One target per discovered site that the host itself can request, in discovery order:
    ``{id, server, names, url, port, host_header, tls, validate_certs, docroot, wordpress}``.

    The URL is on 127.0.0.1 for a wildcard address (``[::1]`` for IPv6 only), else on the
    listen address; plain HTTP is preferred, and a site with TLS ports only is requested over
    https with ``validate_certs`` false (its certificate names the site, not 127.0.0.1).
    A site that listens on unix sockets only is left out.
    """
    if not isinstance(found, dict):
        raise TypeError(f"omctl_site_targets expects discover_found (a dict), got {found!r}")
    serving = _wordpress_by_site(found)
    targets = []
    for site in found.get("sites") or []:
        reachable = [
            entry
            for entry in site.get("listen") or []
            if entry.get("port") is not None
            and _request_host(str(entry.get("address"))) is not None
        ]
        if not reachable:
            continue
        entry = min(reachable, key=_listen_rank)
        https = bool(entry.get("ssl"))
        scheme = "https" if https else "http"
        host = _request_host(str(entry.get("address")))
        targets.append(
            {
                "id": site["id"],
                "server": site.get("server"),
                "names": list(site.get("names") or []),
                "url": f"{scheme}://{host}:{entry['port']}/",
                "port": entry["port"],
                "host_header": _host_header(list(site.get("names") or [])),
                "tls": bool(site.get("tls")),
                "validate_certs": not https,
                "docroot": site.get("docroot"),
                "wordpress": serving.get(site["id"]),
            }
        )
    return targets


def omctl_site_ports(found: dict[str, Any]) -> list[int]:
    """The TCP ports the discovered sites listen on, sorted: what a firewall must admit for
    them. Empty when the host serves no site."""
    ports = {
        int(entry["port"])
        for site in found.get("sites") or []
        for entry in site.get("listen") or []
        if entry.get("port") is not None and not str(entry.get("address")).startswith("unix:")
    }
    return sorted(ports)


def omctl_service_units(found: dict[str, Any]) -> list[str]:
    """The units of the discovered web servers, databases and PHP-FPM versions that exist on
    the host (``nginx``, ``apache2``, ``mariadb`` or ``mysql``, ``postgresql``,
    ``php8.2-fpm``), without ``.service``."""
    services = [
        (found.get("web_servers") or {}).get("nginx"),
        (found.get("web_servers") or {}).get("apache"),
        (found.get("databases") or {}).get("mariadb"),
        (found.get("databases") or {}).get("postgresql"),
        *((found.get("php_fpm") or {}).get("versions") or []),
    ]
    units = []
    for entry in services:
        unit = ((entry or {}).get("service") or {}).get("unit")
        if unit:
            units.append(unit.removesuffix(".service"))
    return list(dict.fromkeys(units))


def omctl_web_servers(found: dict[str, Any]) -> list[str]:
    """The web servers installed on the host: ``nginx``, ``apache`` (discovery's names)."""
    return [
        name
        for name, server in sorted((found.get("web_servers") or {}).items())
        if (server or {}).get("installed")
    ]


def omctl_wordpress_paths(found: dict[str, Any], layout: str = "upstream") -> list[str]:
    """The code directories of the discovered WordPress installs of one layout (``upstream``:
    updated by wp-cli; ``debian``: Debian's package, updated by apt), sorted, each once."""
    return sorted({w["path"] for w in found.get("wordpress") or [] if w.get("layout") == layout})


def omctl_no_site_reason(found: dict[str, Any], what: str = "site checks") -> str:
    """Why a role has no site to work on, for the evidence's ``not_applicable``."""
    servers = omctl_web_servers(found)
    if not servers:
        return f"no web server: {what} not applicable"
    return f"{' and '.join(servers)} serves no site the host can request: {what} not applicable"


# A discovered site is up when it answers 2xx or 3xx: a redirect (to https, to its canonical
# name) is the site answering, and it is not followed, since its target may be off the host.
SITE_STATUS = list(range(200, 400))


def omctl_site_requests(
    targets: list[dict[str, Any]], headers: dict[str, str], validate_certs: bool
) -> list[dict[str, Any]]:
    """One request per ``omctl_site_targets`` entry, for the healthcheck and the hardening:
    named after the site (its Host header, else its id), sent with its Host header over the
    operator's extra headers, redirects not followed, any 2xx or 3xx accepted. Certificates
    are validated only where the target allows it (a TLS-only site is requested on
    127.0.0.1, which its certificate does not name) and the operator did not turn
    validation off."""
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
        return {
            "omctl_site_targets": omctl_site_targets,
            "omctl_site_ports": omctl_site_ports,
            "omctl_service_units": omctl_service_units,
            "omctl_web_servers": omctl_web_servers,
            "omctl_site_requests": omctl_site_requests,
            "omctl_no_site_reason": omctl_no_site_reason,
            "omctl_wordpress_paths": omctl_wordpress_paths,
        }
