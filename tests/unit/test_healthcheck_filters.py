"""The healthcheck's requests for the sites discovery found (roles/healthcheck/filter_plugins),
imported from the file Ansible loads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "healthcheck_filters", REPO / "roles/healthcheck/filter_plugins/healthcheck.py"
)
assert _spec is not None and _spec.loader is not None
hc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hc)

SHOP = {
    "id": "nginx:/etc/nginx/sites-enabled/shop:1",
    "url": "http://127.0.0.1:80/",
    "host_header": "shop.lab.test",
    "validate_certs": True,
}
CATCH_ALL = {
    "id": "nginx:/etc/nginx/sites-enabled/wordpress:2",
    "url": "http://127.0.0.1:80/",
    "host_header": None,
    "validate_certs": True,
}
TLS_ONLY = {
    "id": "apache:/etc/apache2/sites-enabled/secure.conf:1",
    "url": "https://127.0.0.1:443/",
    "host_header": "secure.example.org",
    "validate_certs": False,
}


def test_each_site_is_its_own_request_with_its_host_header():
    shop, catch_all = hc.omctl_healthcheck_site_requests(
        [SHOP, CATCH_ALL], {"host": "ignored.example", "X-Probe": "omctl"}, True
    )
    assert shop["name"] == "site shop.lab.test"
    assert shop["label"] == "shop.lab.test at http://127.0.0.1:80/"
    # The site's name replaces an operator's Host header whatever its case; others stay.
    assert shop["headers"] == {"X-Probe": "omctl", "Host": "shop.lab.test"}
    assert catch_all["name"] == "site nginx:/etc/nginx/sites-enabled/wordpress:2"
    assert catch_all["headers"] == {"host": "ignored.example", "X-Probe": "omctl"}


def test_a_site_passes_on_2xx_or_3xx_without_following_redirects():
    (request,) = hc.omctl_healthcheck_site_requests([SHOP], {}, True)
    assert 200 in request["status"] and 301 in request["status"] and 399 in request["status"]
    assert 199 not in request["status"] and 400 not in request["status"]
    assert 503 not in request["status"]
    assert (request["expected"], request["follow_redirects"]) == ("2xx or 3xx", "none")


def test_certificates_are_validated_only_where_the_name_can_match():
    tls, plain = hc.omctl_healthcheck_site_requests([TLS_ONLY, SHOP], {}, True)
    assert (tls["validate_certs"], plain["validate_certs"]) == (False, True)
    (plain,) = hc.omctl_healthcheck_site_requests([SHOP], {}, False)
    assert plain["validate_certs"] is False


def test_no_site_no_request():
    assert hc.omctl_healthcheck_site_requests([], {}, True) == []
    assert set(hc.FilterModule().filters()) == {"omctl_healthcheck_site_requests"}
