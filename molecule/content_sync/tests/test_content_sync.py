"""Content sync publishes releases atomically, transfers only changes, keeps shared uploads,
switches back when the site breaks, and rolls back."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = "/srv/www/lab"
SOURCE = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "source"
UPLOAD = "uploaded by a visitor\n"


def live(host) -> str:
    return host.check_output(f"readlink {ROOT}/current").removeprefix("releases/")


def page(host, path: str) -> str:
    return host.check_output(f"curl -s http://localhost{path}")


def sync(run_playbook, hostname, playbook="operation/content_sync.yml", **extravars):
    run = run_playbook(playbook, extravars=extravars)
    return run, run.evidence["content_sync"][hostname]


@pytest.fixture(scope="module")
def converged(host):
    """The release the converge made (idempotence made none)."""
    release = live(host)
    assert release != "00000000T000000Z-lab"
    return release


def test_converge_published_the_source(host, converged):
    assert host.file(f"{ROOT}/releases/{converged}.json").exists
    assert "omctl lab site" in page(host, "/")
    assert page(host, "/omctl-release.txt") == "release 1"
    # The source's own copy of a shared path is never published.
    assert page(host, "/wp-content/uploads/keep.txt") == UPLOAD.strip()
    link = host.file(f"{ROOT}/current/wp-content/uploads")
    assert link.is_symlink and link.linked_to == f"{ROOT}/shared/wp-content/uploads"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git repository of the source whose tag v2 changes one file."""
    path = tmp_path_factory.mktemp("repo") / "site"
    shutil.copytree(SOURCE, path, symlinks=True)
    shutil.rmtree(path / "wp-content" / "uploads")
    (path / "omctl-release.txt").write_text("release 2\n")
    git = ["git", "-C", str(path), "-c", "user.name=omctl", "-c", "user.email=omctl@lab.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "release 2"], check=True)
    subprocess.run([*git, "tag", "v2"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return path, commit.stdout.strip()


def test_git_ref_sync_transfers_only_the_change(run_playbook, hostname, host, converged, repo):
    path, commit = repo
    run, record = sync(
        run_playbook, hostname, content_sync_source_type="git",
        content_sync_source=str(path), content_sync_git_ref="v2",
    )  # fmt: skip
    assert run.status == "successful", run.stdout
    assert record["previous"] == converged and record["release"] == live(host)
    assert record["release"].endswith("-" + commit[:8])
    assert record["source"]["commit"] == commit
    # Every file of the checkout is new to rsync, one differs in content.
    assert record["transferred"]["files_transferred"] == 1
    assert record["transferred"]["literal_bytes"] == len("release 2\n")
    assert page(host, "/omctl-release.txt") == "release 2"
    assert page(host, "/wp-content/uploads/keep.txt") == UPLOAD.strip()
    # Unchanged files are hard links shared with the previous release.
    index = host.check_output(f"stat -c %i {ROOT}/releases/{converged}/index.php")
    assert host.check_output(f"stat -c %i {ROOT}/current/index.php") == index


def test_broken_release_switches_back_and_fails(run_playbook, hostname, host, tmp_path):
    before = live(host)
    tree = tmp_path / "tree"
    shutil.copytree(SOURCE, tree, symlinks=True)
    (tree / "index.php").write_text('<?php http_response_code(500); echo "broken";\n')
    (tree / "omctl-release.txt").write_text("release broken\n")
    tarball = tmp_path / "site.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tree, arcname="site")
    run, record = sync(
        run_playbook, hostname, content_sync_source_type="tarball",
        content_sync_source=str(tarball), content_sync_source_subdir="site",
        content_sync_check_retries=0,
    )  # fmt: skip
    assert run.status == "failed"
    assert record["switched"] is True and record["switched_back"] is True
    assert "answered 500" in record["error"]
    assert live(host) == before
    assert page(host, "/omctl-release.txt") == "release 2"
    # Set aside: no longer a complete release, so never a rollback target.
    assert not host.file(f"{ROOT}/releases/{record['release']}.json").exists


def test_rollback_goes_back_and_keeps_uploads(run_playbook, hostname, host, converged):
    before = live(host)
    run, record = sync(run_playbook, hostname, playbook="operation/content_rollback.yml")
    assert run.status == "successful", run.stdout
    assert (record["action"], record["previous"], record["release"]) == (
        "rollback",
        before,
        converged,
    )
    assert live(host) == converged
    assert page(host, "/omctl-release.txt") == "release 1"
    assert page(host, "/wp-content/uploads/keep.txt") == UPLOAD.strip()
