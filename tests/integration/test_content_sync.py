"""Content sync through omctl over SSH: releases published with rsync deltas, a sync killed
mid-transfer leaving the previous release live, shared uploads surviving syncs and rollbacks."""

from __future__ import annotations

import base64
import io
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Lab, write_scope

HOST = "web2"
ROOT = "/srv/www/lab"
ADOPT = REPO / "molecule" / "content_sync" / "adopt-lab-site.sh"
VISITOR = "uploaded by a visitor"


def sh(lab: Lab, command: str) -> str:
    done = lab.ssh(HOST, command)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


def page(lab: Lab, path: str) -> str:
    return sh(lab, f"curl -s http://localhost{path}").strip()


def live(lab: Lab) -> str:
    return sh(lab, f"readlink {ROOT}/current").strip().removeprefix("releases/")


def fetch_tree(lab: Lab, remote: str, local: Path) -> None:
    """The host's folder, copied with its times and links (tar over SSH)."""
    command = [
        "ssh", "-i", str(lab.key), "-p", str(lab.host(HOST)["ssh_port"]), "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "root@127.0.0.1", f"tar -C {remote} -cf - .",
    ]  # fmt: skip
    data = subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(local, filter="tar")


def group_vars(lab: Lab, source: Path, extra: str = "") -> None:
    path = lab.ws / "inventories" / "synced" / "group_vars" / "all" / "content.yml"
    path.write_text(
        f"content_sync_site: lab\ncontent_sync_source: {source}\n"
        f"content_sync_check_marker: omctl lab site\n{extra}"
    )


@pytest.fixture(scope="module")
def synced(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    """Client 'synced' on web2, its WordPress moved into the release layout (put back after)."""
    result = lab.onboard("synced", HOST)
    assert result.code == 0, result.stderr
    write_scope(
        lab, "synced", "  {}\n",
        operation="{content_sync: {every: on_request}, content_rollback: {every: on_request}}",
    )  # fmt: skip
    script = base64.b64encode(ADOPT.read_bytes()).decode()
    sh(lab, f"printf %s {script} | base64 -d > /tmp/adopt.sh && sh /tmp/adopt.sh {ROOT}")
    sh(lab, f"printf '{VISITOR}' > {ROOT}/shared/wp-content/uploads/keep.txt")
    source = tmp_path_factory.mktemp("content") / "site"
    fetch_tree(lab, "/usr/share/wordpress", source)
    (source / "omctl-release.txt").write_text("release A\n")
    (source / "wp-content" / "uploads").mkdir(parents=True)
    (source / "wp-content" / "uploads" / "keep.txt").write_text("from the source\n")
    group_vars(lab, source)
    try:
        yield lab, source
    finally:
        vhost = "/etc/nginx/sites-available/wordpress"
        lab.ssh(
            HOST,
            f"mv -f {vhost}.omctl-lab-orig {vhost} && systemctl reload nginx; "
            "rm -f /var/lib/wordpress/wp-content/uploads && "
            f"cp -a {ROOT}/shared/wp-content/uploads /var/lib/wordpress/wp-content/uploads; "
            f"rm -rf {ROOT}",
        )


def run_json(lab: Lab, *args: str) -> dict:
    result = lab.omctl("run", "synced", *args, "--json")
    assert result.code == 0, result.stderr
    return result.json()


def test_sync_sends_only_the_change_over_ssh(synced: tuple[Lab, Path]) -> None:
    lab, _ = synced
    first = live(lab)
    run = run_json(lab, "content_sync")
    record = run["hosts"][HOST]["evidence"]["content_sync"]
    assert record["previous"] == first and record["release"] == live(lab) != first
    # Same files with the same times: only the marker crosses the wire.
    assert record["transferred"]["files_transferred"] == 1
    assert record["transferred"]["literal_bytes"] == len("release A\n")
    assert page(lab, "/omctl-release.txt") == "release A"
    assert page(lab, "/wp-content/uploads/keep.txt") == VISITOR
    text = lab.omctl("show", run["id"])
    assert f"content sync of {HOST}: switched" in text.stdout


def test_killed_sync_leaves_the_previous_release_live(synced: tuple[Lab, Path]) -> None:
    lab, source = synced
    before = live(lab)
    (source / "omctl-release.txt").write_text("release B\n")
    bulk = source / "wp-content" / "bulk"
    bulk.mkdir(exist_ok=True)
    for n in range(12):
        (bulk / f"blob-{n}.bin").write_bytes(os.urandom(2 * 2**20))
    # 24 MiB at 2 MB/s: the transfer is still running when omctl is killed.
    group_vars(lab, source, "content_sync_rsync_opts: ['--bwlimit=2000']\n")
    victim = lab.popen("run", "synced", "content_sync")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if lab.ssh(HOST, f"ls {ROOT}/releases/*/wp-content/bulk/.blob-* 2>/dev/null").stdout:
                break  # rsync is writing the new release
            time.sleep(0.5)
        else:
            pytest.fail("the transfer never started")
        time.sleep(2)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    # Whatever is left of the transfer ends without a release being marked or switched.
    deadline = time.monotonic() + 60
    while lab.ssh(HOST, "pgrep -f 'rsync --server'").returncode == 0:
        assert time.monotonic() < deadline, "rsync still runs on the host"
        time.sleep(1)
    assert live(lab) == before
    assert page(lab, "/omctl-release.txt") == "release A"
    releases = sh(lab, f"ls {ROOT}/releases").split()
    unfinished = [r for r in releases if not r.endswith(".json") and f"{r}.json" not in releases]
    assert len(unfinished) == 1
    history = lab.omctl("history", "synced", "--json").json()
    assert history[-1]["task"] == "content_sync" and history[-1]["status"] == "interrupted"

    # The next sync removes the unfinished release and publishes B.
    group_vars(lab, source)
    run = run_json(lab, "content_sync")
    record = run["hosts"][HOST]["evidence"]["content_sync"]
    assert record["removed_incomplete"] == unfinished
    assert record["previous"] == before
    assert page(lab, "/omctl-release.txt") == "release B"
    assert page(lab, "/wp-content/uploads/keep.txt") == VISITOR


def test_rollback_and_check_keep_shared_uploads(synced: tuple[Lab, Path]) -> None:
    lab, _ = synced
    sh(lab, f"printf later > {ROOT}/shared/wp-content/uploads/after-b.txt")
    run = run_json(lab, "content_rollback")
    record = run["hosts"][HOST]["evidence"]["content_sync"]
    assert record["action"] == "rollback" and record["release"] == live(lab)
    assert page(lab, "/omctl-release.txt") == "release A"
    assert page(lab, "/wp-content/uploads/keep.txt") == VISITOR
    assert page(lab, "/wp-content/uploads/after-b.txt") == "later"
    # The proposal: what a sync would change now, changing nothing.
    run = run_json(lab, "content_sync", "--check")
    proposal = run["hosts"][HOST]["evidence"]["content_sync"]
    assert proposal["check_mode"] is True and proposal["release"] is None
    assert any(change.endswith(" omctl-release.txt") for change in proposal["changes"])
    assert live(lab) == record["release"]
