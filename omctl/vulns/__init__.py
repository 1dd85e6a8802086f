"""Known vulnerabilities of what a host runs, matched on the controller (issue 16).

Two feeds, both files on the controller that the provider fetches with its own access:

- ``wordfence``: the Wordfence Intelligence v3 vulnerability feed (production or scanner),
  matched against WordPress core, plugins and themes with PHP's version ordering
  (``phpversion``);
- ``debian``: the Debian security tracker's JSON, matched against installed Debian packages
  by source package and release codename with Debian's version ordering (python-debian).

``scan.match`` turns one host's inventory (what the scan task read on the host) into its
``vulnerability_scan`` evidence; ``scan.diff`` tells new, fixed and still open findings
between two scans. Nothing here touches the network.
"""
