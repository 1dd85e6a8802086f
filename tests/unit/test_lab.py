"""omctl.lab without podman: apt sources, image tag, run options, inventory and scope files.

Where podman is needed, a fake ``podman`` script on PATH records its arguments and answers.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from omctl import catalog, inventory, lab, scope, yamlfile
from omctl.cli.main import app
from omctl.errors import BadInput, EnvironmentProblem
from omctl.workspace import Workspace

# The controller's own format (deb822), comments inside stanzas included.
DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

ONE_LINE = """\
# a comment
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.org/debian/ bookworm main contrib
deb http://security.example.org/debian-security bookworm-security main
deb http://mirror.example.org/debian bookworm-updates main  # trailing comment
"""  # noqa: E501

PS_JSON = [
    {
        "Names": ["omctl-abcd1234-web2"],
        "State": "exited",
        "Image": "localhost/omctl-lab:0123456789ab",
        "Labels": {"omctl.workspace": "abcd1234", "omctl.lab.host": "web2"},
        "Ports": [
            {"host_ip": "127.0.0.1", "container_port": 22, "host_port": 40022, "range": 1},
            {"host_ip": "127.0.0.1", "container_port": 80, "host_port": 40080, "range": 1},
        ],
    },
    {
        "Names": ["omctl-abcd1234-web10"],
        "State": "running",
        "Image": "localhost/omctl-lab:0123456789ab",
        "Labels": {"omctl.workspace": "abcd1234", "omctl.lab.host": "web10"},
        "Ports": [
            {"host_ip": "127.0.0.1", "container_port": 80, "host_port": 41080, "range": 1},
            {"host_ip": "127.0.0.1", "container_port": 22, "host_port": 41022, "range": 1},
        ],
    },
    {
        "Names": ["omctl-abcd1234-two-sites1"],
        "State": "running",
        "Image": "localhost/omctl-lab:0123456789ab",
        "Labels": {
            "omctl.workspace": "abcd1234",
            "omctl.lab.host": "two-sites1",
            "omctl.lab.flavour": "two-sites",
        },
        "Ports": [
            {"host_ip": "127.0.0.1", "container_port": 22, "host_port": 42022, "range": 1},
            {"host_ip": "127.0.0.1", "container_port": 80, "host_port": 42080, "range": 1},
        ],
    },
]


# --- apt sources -------------------------------------------------------------------------------


def test_deb822_sources_give_mirror_and_security() -> None:
    sources = lab.parse_deb822_sources(DEB822)
    assert [s.uri for s in sources] == [
        "http://deb.debian.org/debian",
        "http://deb.debian.org/debian-security",
    ]
    assert sources[0].suites == ("bookworm", "bookworm-updates")
    mirror = lab.find_mirror(sources)
    assert mirror.uri == "http://deb.debian.org/debian"
    assert mirror.security_uri == "http://deb.debian.org/debian-security"


def test_deb822_skips_disabled_and_source_stanzas_and_reads_continuations() -> None:
    text = (
        "Types: deb\nURIs: http://disabled.example.org/debian\nSuites: bookworm\n"
        "Components: main\nEnabled: no\n\n"
        "Types: deb-src\nURIs: http://src.example.org/debian\nSuites: bookworm\n\n"
        "types: deb\nuris: http://a.example.org/debian\n  http://b.example.org/debian\n"
        "suites: trixie\n bookworm\ncomponents: main\n"
    )
    sources = lab.parse_deb822_sources(text)
    assert [s.uri for s in sources] == [
        "http://a.example.org/debian",
        "http://b.example.org/debian",
    ]
    assert sources[0].suites == ("trixie", "bookworm")
    assert lab.find_mirror(sources).uri == "http://a.example.org/debian"


def test_one_line_sources_with_options_and_comments() -> None:
    sources = lab.parse_one_line_sources(ONE_LINE)
    assert [(s.uri, s.suites) for s in sources] == [
        ("http://mirror.example.org/debian/", ("bookworm",)),
        ("http://security.example.org/debian-security", ("bookworm-security",)),
        ("http://mirror.example.org/debian", ("bookworm-updates",)),
    ]
    assert sources[0].components == ("main", "contrib")
    mirror = lab.find_mirror(sources)
    assert mirror.uri == "http://mirror.example.org/debian"  # trailing slash dropped
    assert mirror.security_uri == "http://security.example.org/debian-security"


def test_read_apt_sources_reads_both_formats_in_order(tmp_path: Path) -> None:
    sources_list = tmp_path / "sources.list"
    sources_list.write_text("deb http://first.example.org/debian bookworm main\n")
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    (folder / "debian.sources").write_text(DEB822)
    (folder / "other.list").write_text("deb http://other.example.org/debian bookworm main\n")
    (folder / "old.list.disabled-by-farm").write_text("deb http://ignored.example.org/x bookworm\n")
    (folder / "nodesource.sources.save").write_text(DEB822.replace("deb.debian.org", "bad"))
    sources = lab.read_apt_sources(sources_list, folder)
    assert [s.uri for s in sources] == [
        "http://first.example.org/debian",
        "http://deb.debian.org/debian",
        "http://deb.debian.org/debian-security",
        "http://other.example.org/debian",
    ]
    # Without sources.list, the deb822 file decides.
    sources_list.unlink()
    mirror = lab.find_mirror(lab.read_apt_sources(sources_list, folder))
    assert mirror.uri == "http://deb.debian.org/debian"


def test_security_only_or_other_suites_is_no_mirror() -> None:
    security_only = DEB822.split("\n\n")[1]
    with pytest.raises(EnvironmentProblem, match="no Debian bookworm mirror"):
        lab.find_mirror(lab.parse_deb822_sources(security_only))
    trixie = "deb http://deb.debian.org/debian trixie main\n"
    with pytest.raises(EnvironmentProblem):
        lab.find_mirror(lab.parse_one_line_sources(trixie))
    cdrom = "deb cdrom:[Debian 12]/ bookworm main\n"
    with pytest.raises(EnvironmentProblem):
        lab.find_mirror(lab.parse_one_line_sources(cdrom))


def test_image_sources_carry_updates_and_security() -> None:
    mirror = lab.find_mirror(lab.parse_deb822_sources(DEB822))
    back = lab.parse_deb822_sources(mirror.sources())
    assert [(s.uri, s.suites) for s in back] == [
        ("http://deb.debian.org/debian", ("bookworm", "bookworm-updates")),
        ("http://deb.debian.org/debian-security", ("bookworm-security",)),
    ]
    no_security = lab.find_mirror(lab.parse_deb822_sources(DEB822.partition("\n\n")[0]))
    assert no_security.security_uri is None
    assert "security" not in no_security.sources()


# --- the image tag -----------------------------------------------------------------------------


def test_image_tag_follows_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "provision.sh"
    script.write_bytes(lab.PROVISION_SCRIPT.read_bytes())
    original = lab.recipe_hash(script)
    assert original == lab.recipe_hash(lab.PROVISION_SCRIPT)  # same bytes, same tag
    assert lab.image_ref(script) == f"{lab.IMAGE_NAME}:{original}"
    assert len(original) == 12 and int(original, 16) >= 0

    script.write_bytes(script.read_bytes() + b"# one more line\n")
    assert lab.recipe_hash(script) != original

    assert lab.recipe_hash(lab.PROVISION_SCRIPT, (*lab.PACKAGES, "vim")) != original
    monkeypatch.setattr(lab.image, "BUILD_VERSION", lab.BUILD_VERSION + "-next")
    assert lab.recipe_hash(lab.PROVISION_SCRIPT) != original


def test_image_tag_follows_the_lab_wordpress_sources(tmp_path: Path) -> None:
    """The lab's plugin and theme are part of the recipe: a changed file, a renamed one or a new
    one builds a new image; the same files elsewhere give the same tag."""
    sources = tmp_path / "wordpress"
    shutil.copytree(lab.image.WORDPRESS_SOURCES, sources)
    original = lab.recipe_hash(sources=sources)
    assert original == lab.recipe_hash()
    plugin = sources / "plugins" / "omctl-lab-plugin" / "omctl-lab-plugin.php"
    assert " * Version: 1.0\n" in plugin.read_text()
    plugin.write_text(plugin.read_text().replace(" * Version: 1.0\n", " * Version: 1.1\n"))
    changed = lab.recipe_hash(sources=sources)
    assert changed != original
    plugin.rename(plugin.with_name("renamed.php"))
    assert lab.recipe_hash(sources=sources) not in (original, changed)
    plugin.with_name("renamed.php").rename(plugin)
    (sources / "themes" / "omctl-lab-theme" / "extra.css").write_text("")
    assert lab.recipe_hash(sources=sources) not in (original, changed)


def test_the_image_build_copies_the_lab_wordpress_sources_in() -> None:
    command = lab.image.mmdebstrap_command(
        lab.image.Mirror("http://deb.example/debian", ("bookworm",)), Path("/tmp/s"), Path("/t")
    )
    copy_in = f"--customize-hook=copy-in {lab.image.WORDPRESS_SOURCES} /usr/share/omctl-lab"
    assert copy_in in command
    # In place before provision.sh runs in the chroot.
    [provision_at] = [
        i for i, part in enumerate(command) if part.startswith("--customize-hook=chroot")
    ]
    assert command.index(copy_in) < provision_at
    assert lab.image.IMAGE_WORDPRESS == "/usr/share/omctl-lab/wordpress"
    provision = lab.PROVISION_SCRIPT.read_text()
    flavour = lab.FLAVOUR_SCRIPT.read_text()
    for script in (provision, flavour):
        assert f"LAB_WORDPRESS={lab.image.IMAGE_WORDPRESS}\n" in script
        assert "activate_plugin(" in script and "switch_theme(" in script


def test_package_list_keeps_apache_out() -> None:
    # apt satisfies wordpress's "libapache2-mod-php | php" with Apache unless php comes first.
    assert lab.PACKAGES.index("php") < lab.PACKAGES.index("wordpress")
    assert lab.PACKAGES.index("php-fpm") < lab.PACKAGES.index("php")
    assert not any(p.startswith(("apache2", "libapache2")) for p in lab.PACKAGES)


# --- podman ------------------------------------------------------------------------------------


def test_run_options_systemd_net_admin_loopback_never_privileged() -> None:
    options = lab.run_options("omctl-abcd1234-web1", "web1", "abcd1234", 40022, 40080)
    assert not any("privileged" in option for option in options)
    assert "--systemd=always" in options
    assert "--restart=always" in options  # a reboot inside the host brings it back
    assert "--cap-add=NET_ADMIN" in options
    assert "--hostname=web1" in options
    assert "--name=omctl-abcd1234-web1" in options
    assert f"--label={lab.LABEL_WORKSPACE}=abcd1234" in options
    assert f"--label={lab.LABEL_FLAVOUR}=debian" in options
    published = [o.split("=", 1)[1] for o in options if o.startswith("--publish=")]
    assert published == ["127.0.0.1:40022:22", "127.0.0.1:40080:80"]
    options = lab.run_options("omctl-abcd1234-bare1", "bare1", "abcd1234", 1, 2, "bare")
    assert f"--label={lab.LABEL_FLAVOUR}=bare" in options and "--hostname=bare1" in options


def test_podman_env_uses_project_containers_conf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    path = Path(lab.podman_env()["CONTAINERS_CONF"])
    assert path == lab.CONTAINERS_CONF and path.is_file()
    assert 'runtime = "runc"' in path.read_text()
    monkeypatch.setenv("CONTAINERS_CONF", "/somewhere/else.conf")
    assert lab.podman_env()["CONTAINERS_CONF"] == "/somewhere/else.conf"


@pytest.fixture
def fake_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``podman`` on PATH that logs argv (and CONTAINERS_CONF) and answers from files."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "podman.log"
    script = bin_dir / "podman"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$CONTAINERS_CONF :: $*" >> {log}\n'
        'case "$1" in\n'
        f"  ps) cat {tmp_path / 'ps.json'} ;;\n"
        f'  image) exit "$(cat {tmp_path / "image_exists_rc"})" ;;\n'
        "  tag) ;;\n"
        '  *) echo "Error: boom in $1" >&2; exit 125 ;;\n'
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "ps.json").write_text(json.dumps(PS_JSON))
    (tmp_path / "image_exists_rc").write_text("0")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    return log


def test_podman_failure_is_one_line_environment_problem(fake_podman: Path) -> None:
    with pytest.raises(EnvironmentProblem) as caught:
        lab.podman("run", "--detach", "x")
    assert str(caught.value) == "podman run failed (exit 125): Error: boom in run"
    assert caught.value.exit_code == 7
    assert lab.podman("run", check=False).returncode == 125
    assert fake_podman.read_text().startswith(f"{lab.CONTAINERS_CONF} :: run --detach x")


def test_missing_podman_is_environment_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab.tools.shutil, "which", lambda _name: None)
    with pytest.raises(EnvironmentProblem, match="podman is not installed"):
        lab.podman("ps")


def test_status_reads_podman_ps_json(fake_podman: Path) -> None:
    ws = Workspace(Path("/nonexistent/ws"))
    hosts = lab.status(ws)
    assert [(h.hostname, h.ssh_port, h.http_port, h.state, h.flavour) for h in hosts] == [
        ("web2", 40022, 40080, "exited", "debian"),  # no flavour label: from before flavours
        ("web10", 41022, 41080, "running", "debian"),  # web10 after web2: numeric order
        ("two-sites1", 42022, 42080, "running", "two-sites"),  # other flavours after web*
    ]
    assert f"--filter label=omctl.workspace={ws.ident}" in fake_podman.read_text()


def test_ensure_image_cached_only_tags_latest(fake_podman: Path) -> None:
    assert lab.ensure_image() == lab.image_ref()
    calls = [line.split(" :: ", 1)[1] for line in fake_podman.read_text().splitlines()]
    assert calls == [f"image exists {lab.image_ref()}", f"tag {lab.image_ref()} {lab.LATEST_REF}"]


def test_free_port_is_bindable_and_avoids(monkeypatch: pytest.MonkeyPatch) -> None:
    port = lab.free_port()
    with socket.socket() as sock:
        sock.bind((lab.LOOPBACK, port))  # free on loopback

    picks = iter([5000, 5000, 5001])

    class Kernel:  # hands out an avoided port twice, then another one
        def __init__(self, *_args: object) -> None:
            self.port = 0

        def __enter__(self) -> Kernel:
            return self

        def __exit__(self, *_exc: object) -> None:
            pass

        def bind(self, address: tuple[str, int]) -> None:
            assert address == (lab.LOOPBACK, 0)
            self.port = next(picks)

        def getsockname(self) -> tuple[str, int]:
            return (lab.LOOPBACK, self.port)

    monkeypatch.setattr(lab.hosts.socket, "socket", Kernel)
    assert lab.free_port({5000}) == 5001


# --- inventories/lab/ ------------------------------------------------------------------------


HOSTS = [
    lab.LabHost("omctl-x-web2", "web2", 40022, 40080, "running"),
    lab.LabHost("omctl-x-web1", "web1", 41022, 41080, "running"),
]


def test_inventory_files_are_valid_and_name_the_ports(ws: Workspace) -> None:
    path = lab.write_inventory(ws, HOSTS)
    text = path.read_text()
    assert text.splitlines()[0] == lab.MARKER
    data = yaml.safe_load(text)
    web = data["all"]["children"]["web"]["hosts"]
    assert list(web) == ["web1", "web2"]
    assert web["web1"] == {
        "ansible_host": "127.0.0.1",
        "ansible_port": 41022,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(lab.key_path(ws).resolve()),
        "lab_http_port": 41080,
        "lab_flavour": "debian",
    }
    assert web["web2"]["ansible_port"] == 40022 and web["web2"]["lab_http_port"] == 40080
    assert Path(web["web1"]["ansible_ssh_private_key_file"]).is_absolute()
    group_vars = yaml.safe_load(lab.group_vars_file(ws).read_text())
    args = group_vars["ansible_ssh_common_args"]
    assert f"-o UserKnownHostsFile={lab.known_hosts_path(ws).resolve()}" in args
    assert "StrictHostKeyChecking=accept-new" in args
    # omctl reads it like any client's inventory.
    loaded = inventory.load(path)
    assert loaded.hosts == ["web1", "web2"]
    assert "lab" in ws.clients()


def test_scope_puts_every_contracted_task_in_scope(ws: Workspace) -> None:
    tasks = catalog.discover(ws)
    path = lab.write_scope(ws, tasks, today=date(2024, 2, 29))
    assert path is not None
    data = yaml.safe_load(path.read_text())
    assert data["client"] == "lab" and data["contract"] == "LAB-0001"
    assert data["valid_from"] == date(2024, 2, 29)
    assert data["valid_until"] == date(2034, 2, 28)
    assert data["operation"] == {"content_sync": {"every": "on_request"}}
    assert data["maintenance"] == {
        "healthcheck": {"every": "on_request"},
        "patching": {"every": "on_request"},
    }
    assert "baseline" not in path.read_text()  # onboarding is never in a scope
    loaded = scope.parse(yamlfile.load(path))
    assert {t.name for t in tasks if loaded.scope.entry(t)} == {
        "content_sync",
        "healthcheck",
        "patching",
    }


def test_scope_writes_empty_maps(ws: Workspace) -> None:
    only_onboarding = [t for t in catalog.discover(ws) if t.category == "onboarding"]
    path = lab.write_scope(ws, only_onboarding, today=date(2026, 1, 2))
    assert path is not None
    text = path.read_text()
    assert "operation: {}\n" in text and "maintenance: {}\n" in text
    assert "valid_until: 2036-01-02\n" in text


def test_hand_edited_files_are_kept(ws: Workspace) -> None:
    hand = "client: lab\ncontract: MINE\nvalid_from: 2026-01-01\nvalid_until: 2027-01-01\n"
    lab.scope_file(ws).parent.mkdir(parents=True)
    lab.scope_file(ws).write_text(hand)
    assert lab.write_scope(ws, catalog.discover(ws)) is None
    assert lab.scope_file(ws).read_text() == hand
    lab.hosts_file(ws).write_text("all:\n  hosts:\n    mine:\n")
    with pytest.raises(BadInput, match="not written by omctl lab"):
        lab.up(ws, 1)  # refuses before podman is ever called
    with pytest.raises(BadInput, match="between 1 and"):
        lab.up(ws, 0)


def test_down_removes_only_what_up_wrote(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab.hosts, "status", lambda _ws: [])
    lab.write_inventory(ws, HOSTS)
    lab.write_scope(ws, catalog.discover(ws))
    lab.ensure_key(ws)
    lab.known_hosts_path(ws).write_text("[127.0.0.1]:41022 ssh-ed25519 AAAA\n")
    assert lab.down(ws) == []
    assert not (ws.inventories / "lab").exists()
    assert not lab.known_hosts_path(ws).exists()
    assert lab.key_path(ws).exists()  # the key pair is kept for the next `up`

    lab.write_inventory(ws, HOSTS)
    lab.scope_file(ws).write_text("client: lab\n")  # a hand-written scope stays
    lab.down(ws)
    assert not lab.hosts_file(ws).exists() and not lab.group_vars_file(ws).exists()
    assert lab.scope_file(ws).read_text() == "client: lab\n"


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_status_json_and_bad_hosts(ws: Workspace, fake_podman: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--workspace", str(ws.root), "lab", "status", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["hostname"], r["ssh_port"], r["http_port"], r["flavour"]) for r in rows] == [
        ("web2", 40022, 40080, "debian"),
        ("web10", 41022, 41080, "debian"),
        ("two-sites1", 42022, 42080, "two-sites"),
    ]
    text = runner.invoke(app, ["--workspace", str(ws.root), "lab", "status"])
    assert text.exit_code == 0, text.output
    assert "flavour" in text.stdout and "two-sites" in text.stdout
    result = runner.invoke(app, ["--workspace", str(ws.root), "lab", "up", "--hosts", "0"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["--workspace", str(ws.root), "lab", "down"])
    assert result.exit_code == 7  # the fake podman fails `rm`
    assert "podman rm failed" in result.stderr


# --- flavours ----------------------------------------------------------------------------------


def test_flavour_names_and_host_names() -> None:
    assert list(lab.FLAVOURS) == ["debian", "bare", "upstream", "two-sites", "apache"]
    assert lab.DEFAULT_FLAVOUR == "debian"
    assert lab.flavour_hostnames("debian", 2) == ["web1", "web2"]  # today's names stay
    assert lab.flavour_hostnames("bare", 1) == ["bare1"]
    assert lab.flavour_hostnames("two-sites", 3) == ["two-sites1", "two-sites2", "two-sites3"]
    assert lab.flavour_hostnames("apache", 1) == ["apache1"]
    assert lab.LabHost("n", "two-sites12", None, None, "running", flavour="two-sites").index == 12
    hosts = [
        lab.LabHost("a", name, None, None, "running")
        for name in ("upstream1", "web10", "apache2", "web2", "apache10", "bare1")
    ]
    ordered = [h.hostname for h in sorted(hosts, key=lambda h: h.order)]
    assert ordered == ["web2", "web10", "apache2", "apache10", "bare1", "upstream1"]


def test_unknown_flavour_is_bad_input_naming_the_valid_ones(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_podman(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("podman must not be called for a bad flavour")

    monkeypatch.setattr(lab.hosts, "podman", no_podman)
    with pytest.raises(BadInput) as caught:
        lab.up(ws, 1, flavour_name="nginx")
    assert str(caught.value) == (
        "unknown lab flavour 'nginx': choose one of debian, bare, upstream, two-sites, apache"
    )
    assert caught.value.exit_code == 2
    result = CliRunner().invoke(
        app, ["--workspace", str(ws.root), "lab", "up", "--flavour", "Bare"]
    )
    assert result.exit_code == 2
    assert "unknown lab flavour 'Bare': choose one of debian, bare" in result.stderr
    assert "Traceback" not in result.output
    assert not (ws.inventories / "lab").exists()  # nothing written, nothing started


def test_inventory_names_each_hosts_flavour(ws: Workspace) -> None:
    hosts = [
        lab.LabHost("omctl-x-upstream1", "upstream1", 43022, 43080, "running", flavour="upstream"),
        lab.LabHost("omctl-x-bare1", "bare1", 44022, 44080, "running", flavour="bare"),
        *HOSTS,
    ]
    web = yaml.safe_load(lab.write_inventory(ws, hosts).read_text())["all"]["children"]["web"]
    assert list(web["hosts"]) == ["web1", "web2", "bare1", "upstream1"]
    assert {name: entry["lab_flavour"] for name, entry in web["hosts"].items()} == {
        "web1": "debian",
        "web2": "debian",
        "bare1": "bare",
        "upstream1": "upstream",
    }
    assert web["hosts"]["bare1"]["ansible_port"] == 44022
    assert inventory.load(lab.hosts_file(ws)).hosts == ["web1", "web2", "bare1", "upstream1"]


class _Site(http.server.BaseHTTPRequestHandler):
    """Answers 200 for Host shop.lab.test only, 301 otherwise (as WordPress redirects)."""

    def do_GET(self) -> None:
        named = self.headers.get("Host") == "shop.lab.test"
        self.send_response(200 if named else 301)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def site_port() -> Iterator[int]:
    server = http.server.HTTPServer((lab.LOOPBACK, 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_readiness_follows_the_flavour(site_port: int) -> None:
    def host(kind: str, port: int) -> lab.LabHost:
        return lab.LabHost(f"omctl-x-{kind}1", f"{kind}1", 1, port, "running", flavour=kind)

    # upstream and two-sites: the default server is asked by its name.
    assert lab.http_ready(host("upstream", site_port)) == (True, "HTTP status 200")
    assert lab.http_ready(host("two-sites", site_port)) == (True, "HTTP status 200")
    # debian and apache: any name; this site redirects those, so they are not ready.
    assert lab.http_ready(host("debian", site_port)) == (False, "HTTP status 301")
    assert lab.http_ready(host("apache", site_port)) == (False, "HTTP status 301")
    # bare: nothing listens on the port and none is expected.
    with socket.socket() as sock:
        sock.bind((lab.LOOPBACK, 0))
        closed = int(sock.getsockname()[1])
    assert lab.http_ready(host("bare", closed)) == (True, "no web server in this flavour")
    ok, reason = lab.http_ready(host("apache", closed))
    assert not ok and reason.startswith("HTTP: ")


def test_flavour_script_is_shipped_and_refuses_unknown_names(tmp_path: Path) -> None:
    script = lab.FLAVOUR_SCRIPT
    assert script.parent == lab.PROVISION_SCRIPT.parent  # package data, like provision.sh
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail\n" in text
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    for name in set(lab.FLAVOURS) - {lab.DEFAULT_FLAVOUR}:
        assert f"    {name}) flavour_" in text  # every flavour has its set-up
    done = subprocess.run(
        ["bash", str(script), "nginx"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr == "flavour: error: unknown flavour 'nginx'\n"
