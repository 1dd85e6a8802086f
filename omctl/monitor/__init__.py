"""Site monitoring: the tick probes each client's ``monitor:`` sites from the controller.

``targets`` (the scope's items), ``probe`` (HTTP/HTTPS with httpx, bounded concurrency),
``store`` (the compact probe table and the incidents, ``.omctl/monitor.sqlite3``),
``daily`` (one ledger entry per site and day), ``cycle`` (what a tick does) and ``views``
(what status and the report show).
"""
