#!/usr/bin/python
"""Find what a host runs - web servers and their sites, PHP-FPM pools, databases and WordPress
installs - by reading its configuration files, never by changing anything.

Plain Python (standard library only): the parsers are pure functions over text and import
without Ansible, so the unit tests run the very code the host runs. Only ``main()`` talks to
Ansible. Secrets are never read into the result: wp-config.php is read for an allow-list of
constants (database name, user and host, content directory, URLs), never the password or salts.
"""

# Ansible modules document themselves before their imports.

from __future__ import annotations

DOCUMENTATION = r"""
module: omctl_discover
short_description: Find the web servers, sites, PHP-FPM pools, databases and WordPress of a host
description:
  - Read-only. Parses the configuration files themselves - nginx from C(/etc/nginx/nginx.conf)
    following its C(include) globs, Apache from C(/etc/apache2/apache2.conf) (or its
    C(sites-enabled) when that is missing) following C(Include)/C(IncludeOptional) and
    reading C(<IfModule>) sections only when their module is loaded, PHP-FPM
    pools from C(/etc/php/*/fpm/pool.d), MariaDB/MySQL options from C(/etc/mysql), PostgreSQL
    clusters from C(/etc/postgresql) - and asks systemd for the state of their units.
  - Lists the databases of MariaDB/MySQL through the unix-socket root login
    (C(mysql --batch -N -e 'SHOW DATABASES')) and of PostgreSQL through
    C(runuser -u postgres -- psql), both run without a shell; a login that is refused is
    reported, not fatal.
  - Finds WordPress installs (C(wp-includes/version.php)) in every discovered document root and
    under O(wordpress_paths), and reads their C(wp-config.php) (for Debian's package, the
    C(/etc/wordpress/config-*.php) files) with a reader that never executes PHP. Only
    C(DB_NAME), C(DB_USER), C(DB_HOST), C(DB_CHARSET), C(WP_CONTENT_DIR), C(WP_HOME),
    C(WP_SITEURL), C(MULTISITE) and C($table_prefix) are read; passwords, keys and salts never.
  - A file that cannot be read or parsed is named in RV(discovery_warnings); nothing here
    fails the task.
  - Changes nothing; runs the same in check mode.
options:
  wordpress_paths:
    description: Directories searched for WordPress installs besides the document roots.
    type: list
    elements: path
    default: [/var/www, /srv, /usr/share/wordpress]
  wordpress_depth:
    description: How many directory levels below a search path an install may sit.
    type: int
    default: 3
  commands:
    description:
      - Run the probes (C(systemctl show), the version options of the binaries, C(mysql),
        C(psql)). Off, only files are read; unit and service states, versions and database
        lists are then null.
    type: bool
    default: true
  root:
    description:
      - The directory taken as the host's C(/) for every file read; a test seam, so that tests
        can point the module at a tree of captured files. Leave it at C(/).
      - Commands are only run when it is C(/).
    type: path
    default: /
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Discover what the host runs
  omctl_discover:
  register: __discover_raw

- name: Only the files, no commands
  omctl_discover:
    commands: false
    wordpress_paths: [/var/www]
"""

RETURN = r"""
web_servers:
  description: nginx and Apache, each with whether it is installed, its binary, version, unit
    state and the configuration files read.
  returned: always
  type: dict
  sample: {"nginx": {"installed": true, "binary": "/usr/sbin/nginx", "version": "1.22.1",
           "service": {"unit": "nginx.service", "load": "loaded", "active": "active",
                       "sub": "running", "enabled": "enabled"},
           "config": "/etc/nginx/nginx.conf", "files": ["/etc/nginx/nginx.conf", "..."]},
           "apache": {"installed": false, "binary": null, "version": null, "service": null,
                      "config": null, "files": []}}
sites:
  description:
    - One entry per nginx C(server) block and Apache C(VirtualHost), with C(id)
      (C(<server>:<file>:<line>)), C(server), C(file), C(line), C(names) (server names and
      aliases), C(listen) (address, port, ssl, default_server), C(ports), C(tls),
      C(certificate), C(docroot), C(roots) (the server's and its locations' roots),
      C(php) (FastCGI targets, each with the PHP-FPM C(pool) it reaches or null),
      C(proxy) (proxy_pass targets) and C(wordpress_config) (the C(WORDPRESS_CONFIG) the site
      passes to Debian's wp-config.php, C(fastcgi_param) or C(SetEnv); else null).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "nginx:/etc/nginx/sites-enabled/wordpress:2", "server": "nginx",
            "file": "/etc/nginx/sites-enabled/wordpress", "line": 2, "names": ["_"],
            "listen": [{"address": "*", "port": 80, "ssl": false, "default_server": true}],
            "ports": [80], "tls": false, "certificate": null,
            "docroot": "/usr/share/wordpress", "roots": ["/usr/share/wordpress"],
            "php": [{"target": "unix:/run/php/php8.2-fpm.sock", "pool": "8.2/www"}],
            "proxy": [], "wordpress_config": null}]
php_fpm:
  description: PHP-FPM versions (each with its unit state) and pools (C(id) C(<version>/<name>),
    C(name), C(version), C(file), C(listen), C(user), C(group) and C(pm) settings).
  returned: always
  type: dict
  sample: {"versions": [{"version": "8.2", "binary": "/usr/sbin/php-fpm8.2",
                         "service": {"unit": "php8.2-fpm.service", "active": "active"}}],
           "pools": [{"id": "8.2/www", "name": "www", "version": "8.2",
                      "file": "/etc/php/8.2/fpm/pool.d/www.conf",
                      "listen": "/run/php/php8.2-fpm.sock",
                      "user": "www-data", "group": "www-data",
                      "pm": {"mode": "dynamic", "max_children": 5, "start_servers": 2,
                             "min_spare_servers": 1, "max_spare_servers": 3,
                             "max_requests": null}}]}
databases:
  description:
    - C(mariadb) (MariaDB or MySQL, C(flavour) says which) and C(postgresql), each with
      C(installed), C(version), C(service) and C(databases) (system schemas left out; null when
      they could not be listed, C(databases_error) then says why). MariaDB adds C(socket),
      C(port) and C(bind_address) from its option files; PostgreSQL its C(clusters).
  returned: always
  type: dict
  sample: {"mariadb": {"installed": true, "flavour": "mariadb", "binary": "/usr/sbin/mariadbd",
                       "version": "10.11.11",
                       "service": {"unit": "mariadb.service", "active": "active"},
                       "socket": "/run/mysqld/mysqld.sock", "port": 3306,
                       "bind_address": "127.0.0.1",
                       "databases": ["wordpress"], "databases_error": null},
           "postgresql": {"installed": false, "version": null, "service": null, "clusters": [],
                          "databases": null, "databases_error": null}}
wordpress:
  description:
    - One entry per WordPress site - a code tree with its configuration; Debian's package
      gives one per C(/etc/wordpress/config-<host>.php), all sharing C(path).
    - C(path), C(realpath), C(version), C(layout) (C(upstream) or C(debian)), C(config) (the
      file the settings came from, null when none was found), C(host) (Debian's config host,
      C(default) for C(config-default.php); null upstream), C(db_name), C(db_user),
      C(db_host), C(db_charset), C(table_prefix), C(content_dir) (C(WP_CONTENT_DIR) or
      C(<path>/wp-content)), C(home), C(siteurl), C(multisite) and C(sites), the ids of the
      sites whose document root is the install or holds it (for Debian's package, whose
      requests load this config, by C(WORDPRESS_CONFIG), server name, parent domain or
      C(default)).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/usr/share/wordpress", "realpath": "/usr/share/wordpress", "version": "6.1.9",
            "layout": "debian", "config": "/etc/wordpress/config-default.php", "host": "default",
            "db_name": "wordpress", "db_user": "wordpress", "db_host": "localhost",
            "db_charset": "utf8mb4", "table_prefix": "wp_",
            "content_dir": "/var/lib/wordpress/wp-content", "home": null, "siteurl": null,
            "multisite": false, "sites": ["nginx:/etc/nginx/sites-enabled/wordpress:2"]}]
discovery_warnings:
  description:
    - Files that could not be read or parsed and values that could not be resolved, each
      naming the file and line; never a secret.
    - Named so because C(warnings) is Ansible's own key; the role's fact calls it C(warnings).
  returned: always
  type: list
  elements: str
"""

import glob
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# (returncode, stdout, stderr) of an argv; 127 when it could not be run.
Runner = Callable[[list[str]], tuple[int, str, str]]

WORDPRESS_PATHS = ["/var/www", "/srv", "/usr/share/wordpress"]
MAX_INCLUDE_DEPTH = 16
MAX_WALKED_DIRS = 5000
PG_DATABASES = "SELECT datname FROM pg_database WHERE NOT datistemplate"
SYSTEM_SCHEMAS = {"information_schema", "performance_schema", "mysql", "sys"}
SKIP_DIRS = {"wp-content", "wp-includes", "wp-admin", "node_modules", "vendor", "cache"}
WP_CONSTANTS = {
    "DB_NAME": "db_name",
    "DB_USER": "db_user",
    "DB_HOST": "db_host",
    "DB_CHARSET": "db_charset",
    "WP_CONTENT_DIR": "content_dir",
    "WP_HOME": "home",
    "WP_SITEURL": "siteurl",
    "MULTISITE": "multisite",
}


class ParseError(ValueError):
    """A configuration file omctl cannot read; ``str()`` names the file and line."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")


@dataclass
class Directive:
    name: str
    args: list[str]
    file: str
    line: int
    block: list[Directive] | None = None


@dataclass
class Tree:
    """Read files of a host whose ``/`` is ``root``; paths in and out are host paths."""

    root: str = "/"
    warnings: list[str] = field(default_factory=list)

    def real(self, path: str) -> str:
        """The host path with every symbolic link resolved inside the tree."""
        if self.root == "/":
            return os.path.realpath(path)
        parts = [p for p in path.split("/") if p]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            local = os.path.join(self.root, *resolved, part)
            if os.path.islink(local) and hops < 40:
                hops += 1
                target = os.readlink(local)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return "/" + "/".join(resolved)

    def local(self, path: str) -> str:
        return os.path.join(self.root, self.real(path).lstrip("/"))

    def isfile(self, path: str) -> bool:
        return os.path.isfile(self.local(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.local(path))

    def exists(self, path: str) -> bool:
        return os.path.exists(self.local(path))

    def read(self, path: str) -> str | None:
        try:
            with open(self.local(path), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError as exc:
            self.warnings.append(f"{path}: cannot read: {exc.strerror or exc}")
            return None

    def glob(self, pattern: str) -> list[str]:
        """Matching host paths, sorted as nginx and Apache sort them."""
        prefix = self.root.rstrip("/")
        found = glob.glob(glob.escape(prefix) + pattern) if prefix else glob.glob(pattern)
        return sorted(path[len(prefix) :] or "/" for path in found)

    def listdir(self, path: str) -> list[os.DirEntry]:
        try:
            with os.scandir(self.local(path)) as entries:
                return sorted(entries, key=lambda e: e.name)
        except OSError:
            return []


# --- nginx -----------------------------------------------------------------------------------


def nginx_tokens(text: str, file: str) -> Iterator[tuple[str, int, bool]]:
    """(token, line, quoted) of an nginx file; comments dropped, quotes unescaped."""
    i, line, n = 0, 1, len(text)
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char.isspace():
            i += 1
        elif char == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif char in ";{}":
            yield char, line, False
            i += 1
        elif char in "\"'":
            start, buf = line, []
            i += 1
            while i < n and text[i] != char:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in (char, "\\"):
                    i += 1
                if text[i] == "\n":
                    line += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                raise ParseError(file, start, "unterminated quoted string")
            i += 1
            yield "".join(buf), start, True
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in ";{}":
                if text[i] == "$" and i + 1 < n and text[i + 1] == "{":
                    closing = text.find("}", i)
                    i = closing if closing > 0 else n - 1
                i += 1
            yield text[start:i], line, False


def parse_nginx(text: str, file: str) -> list[Directive]:
    """The directives of one nginx file as a tree (blocks nested), includes not followed."""
    top: list[Directive] = []
    stack = [top]
    current: list[tuple[str, int]] = []
    for token, line, quoted in nginx_tokens(text, file):
        if quoted or token not in ";{}":
            current.append((token, line))
            continue
        if token == "}":
            if current:
                raise ParseError(file, current[0][1], f'"{current[0][0]}" is not terminated by ";"')
            if len(stack) == 1:
                raise ParseError(file, line, 'unexpected "}"')
            stack.pop()
            continue
        if not current:
            if token == "{":
                raise ParseError(file, line, 'unexpected "{"')
            continue
        directive = Directive(current[0][0], [t for t, _ in current[1:]], file, current[0][1])
        stack[-1].append(directive)
        if token == "{":
            directive.block = []
            stack.append(directive.block)
        current = []
    if current or len(stack) > 1:
        raise ParseError(file, text.count("\n") + 1, "unexpected end of file")
    return top


def _include(
    tree: Tree,
    path: str,
    base: str,
    parse: Callable[[str, str], list[Directive]],
    expand: Callable[[list[Directive], int, tuple[str, ...]], list[Directive]],
    depth: int,
    chain: tuple[str, ...],
    origin: Directive,
    files: list[str],
) -> list[Directive]:
    """The directives of the files an include pattern names, each parsed and expanded."""
    pattern = path if path.startswith("/") else os.path.join(base, path)
    names = tree.glob(pattern) if glob.has_magic(pattern) else [pattern]
    if not glob.has_magic(pattern) and tree.isdir(pattern):
        names = tree.glob(os.path.join(pattern, "*"))
    found: list[Directive] = []
    for name in names:
        if not tree.isfile(name):
            if not glob.has_magic(pattern):
                tree.warnings.append(f"{origin.file}:{origin.line}: included {name} does not exist")
            continue
        if name in chain or depth >= MAX_INCLUDE_DEPTH:
            tree.warnings.append(f"{origin.file}:{origin.line}: include loop through {name}")
            continue
        text = tree.read(name)
        if text is None:
            continue
        try:
            parsed = parse(text, name)
        except ParseError as exc:
            tree.warnings.append(str(exc))
            continue
        files.append(name)
        found.extend(expand(parsed, depth + 1, (*chain, name)))
    return found


def load_nginx(
    tree: Tree, main: str = "/etc/nginx/nginx.conf"
) -> tuple[list[Directive], list[str]]:
    """nginx.conf with every include replaced by what it includes; and the files read."""
    base = os.path.dirname(main)
    files: list[str] = []

    def expand(directives: list[Directive], depth: int, chain: tuple[str, ...]) -> list[Directive]:
        out: list[Directive] = []
        for d in directives:
            if d.name == "include" and d.block is None and d.args:
                out.extend(
                    _include(tree, d.args[0], base, parse_nginx, expand, depth, chain, d, files)
                )
                continue
            if d.block is not None:
                d.block = expand(d.block, depth, chain)
            out.append(d)
        return out

    text = tree.read(main)
    if text is None:
        return [], files
    try:
        parsed = parse_nginx(text, main)
    except ParseError as exc:
        tree.warnings.append(str(exc))
        return [], files
    files.append(main)
    return expand(parsed, 0, (main,)), files


def nginx_listen(args: list[str]) -> dict[str, Any]:
    """A listen directive: address, port, ssl and default_server (``listen [::]:443 ssl``)."""
    spec = args[0] if args else "80"
    flags = set(args[1:])
    address, port = "*", 80
    if spec.startswith("unix:"):
        address, port = spec, None
    elif spec.isdigit():
        port = int(spec)
    else:
        host, sep, tail = spec.rpartition(":")
        if (spec.startswith("[") and spec.endswith("]")) or not sep or not tail.isdigit():
            host, tail = spec, ""  # [::1], localhost
        address = host.strip("[]") if host.startswith("[") else host or "*"
        if host.startswith("["):
            address = f"[{address}]"
        port = int(tail) if tail else 80
    return {
        "address": address,
        "port": port,
        "ssl": "ssl" in flags or "quic" in flags,
        "default_server": "default_server" in flags or "default" in flags,
    }


def _walk(directives: list[Directive]) -> Iterator[Directive]:
    for d in directives:
        yield d
        if d.block:
            yield from _walk(d.block)


def _first(directives: list[Directive], name: str) -> Directive | None:
    return next((d for d in directives if d.name == name and d.args), None)


def _literal_path(value: str | None) -> str | None:
    """A path without nginx/Apache variables, else None (it depends on the request)."""
    if not value or "$" in value:
        return None
    return os.path.normpath(value)


def nginx_sites(config: list[Directive], tree: Tree | None = None) -> list[dict[str, Any]]:
    """One entry per server block of the http context."""
    http = [d for d in config if d.name == "http" and d.block is not None]
    sites: list[dict[str, Any]] = []
    for block in http:
        assert block.block is not None
        upstreams = {
            d.args[0]: [s.args[0] for s in d.block or [] if s.name == "server" and s.args]
            for d in block.block
            if d.name == "upstream" and d.args
        }
        http_root = _first(block.block, "root")
        http_cert = _first(block.block, "ssl_certificate")
        for server in block.block:
            if server.name != "server" or server.block is None:
                continue
            sites.append(_nginx_site(server, upstreams, http_root, http_cert, tree))
    return sites


def _nginx_site(
    server: Directive,
    upstreams: dict[str, list[str]],
    http_root: Directive | None,
    http_cert: Directive | None,
    tree: Tree | None,
) -> dict[str, Any]:
    body = server.block or []
    listen = [nginx_listen(d.args) for d in body if d.name == "listen"] or [nginx_listen([])]
    names = [n for d in body if d.name == "server_name" for n in d.args]
    ssl_on = any(d.name == "ssl" and d.args[:1] == ["on"] for d in body)
    root = _first(body, "root") or http_root
    cert = _first(body, "ssl_certificate") or http_cert
    roots = [root.args[0]] if root else []
    roots += [d.args[0] for d in _walk(body) if d.name == "root" and d.args and d not in (root,)]
    php: list[str] = []
    proxy: list[str] = []
    wp_config = None
    for d in _walk(body):
        if d.name == "fastcgi_param" and len(d.args) >= 2 and d.args[0] == "WORDPRESS_CONFIG":
            wp_config = d.args[1]
        if d.name == "fastcgi_pass" and d.args:
            target = d.args[0]
            php.extend(upstreams.get(target, [target]))
        elif d.name == "proxy_pass" and d.args:
            proxy.append(d.args[0])
    docroot = root.args[0] if root else None
    if root and not _literal_path(docroot) and tree is not None:
        tree.warnings.append(
            f"{root.file}:{root.line}: root {docroot} depends on the request; not searched"
        )
    return {
        "id": f"nginx:{server.file}:{server.line}",
        "server": "nginx",
        "file": server.file,
        "line": server.line,
        "names": names,
        "listen": listen,
        "ports": sorted({entry["port"] for entry in listen if entry["port"] is not None}),
        "tls": ssl_on or any(entry["ssl"] for entry in listen),
        "certificate": cert.args[0] if cert else None,
        "docroot": docroot,
        "roots": list(dict.fromkeys(r for r in roots if _literal_path(r))),
        "php": [{"target": normalise_fcgi(t), "pool": None} for t in dict.fromkeys(php)],
        "proxy": list(dict.fromkeys(proxy)),
        "wordpress_config": wp_config,
    }


# --- Apache ----------------------------------------------------------------------------------

_APACHE_ARG = re.compile(r'"((?:\\.|[^"\\])*)"|\'((?:\\.|[^\'\\])*)\'|(\S+)')


def apache_args(text: str) -> list[str]:
    return [
        (double if double is not None else single if single is not None else bare).replace(
            '\\"', '"'
        )
        for double, single, bare in (m.groups() for m in _APACHE_ARG.finditer(text))
    ]


def parse_apache(text: str, file: str) -> list[Directive]:
    """Directives (names lower-cased) and sections (``<VirtualHost>`` as ``virtualhost`` with a
    block) of one Apache file; continuation lines joined, comments dropped."""
    top: list[Directive] = []
    stack: list[tuple[str, list[Directive], int]] = [("", top, 0)]
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        start = number + 1
        line = lines[number].strip()
        number += 1
        while line.endswith("\\") and number < len(lines):
            line = line[:-1] + " " + lines[number].strip()
            number += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("</"):
            name = line[2:].rstrip(">").strip().lower()
            if len(stack) == 1 or stack[-1][0] != name:
                raise ParseError(file, start, f"unexpected </{name}>")
            stack.pop()
            continue
        if line.startswith("<"):
            if not line.endswith(">"):
                raise ParseError(file, start, f"section {line.split()[0]} has no closing >")
            name, rest = [*line[1:-1].strip().split(None, 1), ""][:2]
            section = Directive(name.lower(), apache_args(rest), file, start, [])
            stack[-1][1].append(section)
            assert section.block is not None
            stack.append((section.name, section.block, start))
            continue
        name, rest = [*line.split(None, 1), ""][:2]
        stack[-1][1].append(Directive(name.lower(), apache_args(rest), file, start))
    if len(stack) > 1:
        raise ParseError(file, stack[-1][2], f"<{stack[-1][0]}> is never closed")
    return top


def _apache_vars(tree: Tree, server_root: str) -> dict[str, str]:
    """Variables Debian's apache2ctl exports from envvars (APACHE_LOG_DIR, ...)."""
    found: dict[str, str] = {}
    for line in (tree.read(os.path.join(server_root, "envvars")) or "").splitlines():
        match = re.match(r"^\s*export\s+([A-Z_][A-Z0-9_]*)=(\S*)", line)
        if match:
            found[match[1]] = re.sub(r"\$\{?SUFFIX\}?", "", match[2]).strip("'\"")
    return found


def load_apache(
    tree: Tree, server_root: str = "/etc/apache2", main: str = "apache2.conf"
) -> tuple[list[Directive], list[str]]:
    """apache2.conf with Include/IncludeOptional replaced by what they include; and the files
    read. Without apache2.conf, the sites in sites-enabled alone."""
    files: list[str] = []
    defined = _apache_vars(tree, server_root) if tree.isfile(f"{server_root}/envvars") else {}

    def substitute(value: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: defined.get(m[1], m[0]), value)

    def expand(directives: list[Directive], depth: int, chain: tuple[str, ...]) -> list[Directive]:
        out: list[Directive] = []
        for d in directives:
            d.args = [substitute(a) for a in d.args]
            if d.name == "define" and len(d.args) >= 2:
                defined[d.args[0]] = d.args[1]
            if d.name in ("include", "includeoptional") and d.args:
                out.extend(
                    _include(
                        tree, d.args[0], server_root, parse_apache, expand, depth, chain, d, files
                    )
                )
                continue
            if d.block is not None:
                d.block = expand(d.block, depth, chain)
            out.append(d)
        return out

    path = os.path.join(server_root, main)
    if not tree.isfile(path):
        top = [Directive("includeoptional", [f"{server_root}/sites-enabled/*.conf"], path, 0)]
        return expand(top, 0, ()), files
    text = tree.read(path)
    if text is None:
        return [], files
    try:
        parsed = parse_apache(text, path)
    except ParseError as exc:
        tree.warnings.append(str(exc))
        return [], files
    files.append(path)
    return expand(parsed, 0, (path,)), files


_SECTIONS_SEEN_THROUGH = {"ifdefine", "ifversion", "iffile", "ifdirective"}
# Compiled into Debian's apache2: <IfModule> always sees them.
_APACHE_STATIC = {"core", "so", "watchdog", "http", "log_config", "logio", "version", "unixd"}


def apache_modules(config: list[Directive]) -> set[str] | None:
    """The names <IfModule> may test for each loaded module (``ssl_module``, ``mod_ssl.c``);
    None when the configuration loads none (sites-enabled read alone: nothing to test)."""
    loads = [d.args for d in _walk(config) if d.name == "loadmodule" and len(d.args) >= 2]
    if not loads:
        return None
    names = {f"{m}_module" for m in _APACHE_STATIC} | {f"mod_{m}.c" for m in _APACHE_STATIC}
    for ident, path in ((a[0], a[1]) for a in loads):
        names.add(ident)
        names.add(re.sub(r"\.so$", ".c", os.path.basename(path)))
        if ident.startswith("php"):
            names.update({"mod_php.c", "mod_php7.c", "mod_php8.c"})
    return names


def _apache_scope(directives: list[Directive], modules: set[str] | None) -> Iterator[Directive]:
    """Directives of one context: inside <IfModule> only when the test holds (when the modules
    are known), looking through <IfDefine> and the like."""
    for d in directives:
        if d.name == "ifmodule" and d.block is not None:
            test = d.args[0] if d.args else ""
            if modules is None or (test.lstrip("!") in modules) != test.startswith("!"):
                yield from _apache_scope(d.block, modules)
        elif d.name in _SECTIONS_SEEN_THROUGH and d.block is not None:
            yield from _apache_scope(d.block, modules)
        else:
            yield d


def _apache_handlers(directives: list[Directive], modules: set[str] | None) -> list[str]:
    targets = []
    for d in _walk(list(_apache_scope(directives, modules))):
        if d.name == "sethandler" and d.args and d.args[0].lower().startswith("proxy:"):
            targets.append(normalise_fcgi(d.args[0]))
        elif d.name == "proxypassmatch" and len(d.args) >= 2 and "fcgi://" in d.args[1]:
            targets.append(normalise_fcgi(d.args[1]))
    return list(dict.fromkeys(targets))


def apache_vhost_address(spec: str) -> dict[str, Any]:
    """``*:80``, ``_default_:443``, ``[::]:443``, ``192.0.2.1`` as address and port."""
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit() or (spec.startswith("[") and spec.endswith("]")):
        host, port = spec, ""
    return {"address": host or "*", "port": int(port) if port else None}


def apache_sites(config: list[Directive]) -> list[dict[str, Any]]:
    """One entry per VirtualHost; the main server's PHP handler (Debian's php-fpm conf) is
    inherited by virtual hosts that set none."""
    modules = apache_modules(config)
    main = list(_apache_scope(config, modules))
    # conf-enabled/phpX.Y-fpm.conf, or mod_php when it is loaded.
    global_php = _apache_handlers([d for d in main if d.name != "virtualhost"], modules)
    if not global_php and modules and "mod_php.c" in modules:
        global_php = ["mod_php"]
    listens = [d.args for d in main if d.name == "listen" and d.args]
    sites = []
    for vhost in (d for d in main if d.name == "virtualhost" and d.block is not None):
        body = list(_apache_scope(vhost.block or [], modules))
        ssl = any(d.name == "sslengine" and d.args[:1] and d.args[0].lower() == "on" for d in body)
        addresses = [apache_vhost_address(a) for a in vhost.args] or [apache_vhost_address("*")]
        listen = []
        for entry in addresses:
            port = entry["port"]
            if port is None:  # <VirtualHost *>: every Listen port
                ports = [
                    int(a[0].rpartition(":")[2])
                    for a in listens
                    if a[0].rpartition(":")[2].isdigit()
                ]
                port = ports[0] if ports else 80
            listen.append(
                {
                    "address": entry["address"],
                    "port": port,
                    "ssl": ssl,
                    "default_server": entry["address"] == "_default_",
                }
            )
        name = _first(body, "servername")
        names = ([name.args[0]] if name else []) + [
            n for d in body if d.name == "serveralias" for n in d.args
        ]
        root = _first(body, "documentroot")
        cert = _first(body, "sslcertificatefile")
        wp_config = next(
            (
                d.args[1]
                for d in _walk(body)
                if d.name == "setenv" and len(d.args) >= 2 and d.args[0] == "WORDPRESS_CONFIG"
            ),
            None,
        )
        sites.append(
            {
                "id": f"apache:{vhost.file}:{vhost.line}",
                "server": "apache",
                "file": vhost.file,
                "line": vhost.line,
                "names": names,
                "listen": listen,
                "ports": sorted({e["port"] for e in listen}),
                "tls": ssl,
                "certificate": cert.args[0] if cert else None,
                "docroot": os.path.normpath(root.args[0]) if root else None,
                "roots": [os.path.normpath(root.args[0])] if root else [],
                "php": [
                    {"target": t, "pool": None}
                    for t in (_apache_handlers(body, modules) or global_php)
                ],
                "proxy": [
                    d.args[1]
                    for d in _walk(body)
                    if d.name == "proxypass" and len(d.args) >= 2 and "fcgi://" not in d.args[1]
                ],
                "wordpress_config": wp_config,
            }
        )
    return sites


# --- PHP-FPM ---------------------------------------------------------------------------------


def normalise_fcgi(target: str) -> str:
    """A FastCGI address as ``unix:/path`` or ``host:port`` whatever wrote it: nginx
    (``unix:/run/x.sock``, ``127.0.0.1:9000``), Apache (``proxy:unix:/run/x.sock|fcgi://localhost``,
    ``proxy:fcgi://127.0.0.1:9000``, ``fcgi://127.0.0.1:9000/var/www/$1``) or a pool's listen
    (``/run/x.sock``, ``9000``)."""
    value = target.strip().strip('"')
    if value.lower().startswith("proxy:"):
        value = value[6:]
    if value.startswith("unix:"):
        value = value.split("|", 1)[0]
        path = value[5:]
    elif value.startswith("/"):
        path = value
    else:
        value = re.sub(r"^fcgi://", "", value).split("/", 1)[0]
        host, sep, port = value.rpartition(":")
        if not sep and not value.isdigit():
            return value  # an upstream name nginx did not define: said as written
        if not sep:
            host, port = "*", value
        host = {"localhost": "127.0.0.1", "0.0.0.0": "*", "[::]": "*", "": "*"}.get(host, host)
        return f"{host}:{port}"
    if path.startswith("/var/run/"):
        path = path[len("/var") :]
    return f"unix:{os.path.normpath(path)}"


def fcgi_matches(target: str, listen: str) -> bool:
    """Whether a FastCGI target reaches a pool listening on ``listen`` (both normalised)."""
    if target.startswith("unix:") or listen.startswith("unix:"):
        return target == listen
    t_host, _, t_port = target.rpartition(":")
    l_host, _, l_port = listen.rpartition(":")
    return t_port == l_port and l_host in ("*", t_host)


def _php_ini_value(raw: str) -> str:
    """An INI value: a quoted string as it is, else up to a ``;`` comment."""
    value = raw.strip()
    quoted = re.match(r"^(\"[^\"]*\"|'[^']*')", value)
    if quoted:
        return quoted[1][1:-1]
    return value.split(";", 1)[0].strip()


def parse_fpm_pools(text: str, file: str, version: str) -> list[dict[str, Any]]:
    """The pools of one PHP-FPM file: ``[name]`` sections with listen, user, group, pm."""
    pools: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ParseError(file, number, f"bad section header {line}")
            name = line[1:-1].strip()
            current = None if name == "global" else {"name": name, "line": number, "values": {}}
            if current is not None:
                pools.append(current)
            continue
        if "=" not in line:
            raise ParseError(file, number, "expected name = value")
        if current is not None:
            key, _, value = line.partition("=")
            current["values"][key.strip()] = _php_ini_value(value).replace("$pool", current["name"])
    return [_fpm_pool(pool, file, version) for pool in pools]


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _fpm_pool(pool: dict[str, Any], file: str, version: str) -> dict[str, Any]:
    values = pool["values"]
    return {
        "id": f"{version}/{pool['name']}",
        "name": pool["name"],
        "version": version,
        "file": file,
        "line": pool["line"],
        "listen": values.get("listen"),
        "user": values.get("user"),
        "group": values.get("group"),
        "pm": {
            "mode": values.get("pm"),
            "max_children": _int(values.get("pm.max_children")),
            "start_servers": _int(values.get("pm.start_servers")),
            "min_spare_servers": _int(values.get("pm.min_spare_servers")),
            "max_spare_servers": _int(values.get("pm.max_spare_servers")),
            "max_requests": _int(values.get("pm.max_requests")),
        },
    }


def link_pools(sites: list[dict[str, Any]], pools: list[dict[str, Any]]) -> None:
    """Name the pool each site's FastCGI target reaches."""
    listens = [(normalise_fcgi(p["listen"]), p["id"]) for p in pools if p.get("listen")]
    for site in sites:
        for handler in site["php"]:
            handler["pool"] = next(
                (pool for listen, pool in listens if fcgi_matches(handler["target"], listen)), None
            )


# --- MariaDB / MySQL and PostgreSQL ----------------------------------------------------------


def parse_mysql_options(texts: list[tuple[str, str]]) -> dict[str, Any]:
    """Server socket, port and bind address from MariaDB/MySQL option files, later files
    winning as the server reads them; defaults when none is set."""
    found: dict[str, Any] = {"socket": None, "port": None, "bind_address": None}
    server_groups = {"mysqld", "server", "mariadb", "mariadbd", "client-server"}
    for _file, text in texts:
        group = ""
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith((";", "!")):
                continue
            if line.startswith("[") and line.endswith("]"):
                group = line[1:-1].strip().lower()
                continue
            if group not in server_groups:
                continue
            key, _, value = line.partition("=")
            key = key.strip().replace("_", "-").lower()
            value = value.strip().strip("'\"")
            if key == "socket":
                found["socket"] = value
            elif key == "port" and value.isdigit():
                found["port"] = int(value)
            elif key == "bind-address":
                found["bind_address"] = value
    found["socket"] = found["socket"] or "/run/mysqld/mysqld.sock"
    found["port"] = found["port"] or 3306
    return found


def parse_systemctl_show(stdout: str) -> dict[str, dict[str, str]]:
    """``systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState`` output, by unit;
    units that do not exist (LoadState=not-found) are left out."""
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", stdout.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit = props.get("Id")
        if unit and props.get("LoadState") not in (None, "not-found"):
            units[unit] = {
                "unit": unit,
                "load": props.get("LoadState", ""),
                "active": props.get("ActiveState", ""),
                "sub": props.get("SubState", ""),
                "enabled": props.get("UnitFileState", ""),
            }
    return units


def first_version(text: str) -> str | None:
    match = re.search(r"(\d+\.\d+(?:\.\d+)*)", text)
    return match[1] if match else None


# --- WordPress -------------------------------------------------------------------------------


def php_code(text: str) -> str:
    """PHP source with comments blanked out (line numbers kept); strings left as they are."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"":
            end = i + 1
            while end < n and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


_PHP_TERM = re.compile(
    r"""\s*(?:'(?P<sq>(?:\\.|[^'\\])*)'|"(?P<dq>(?:\\.|[^"\\])*)"|(?P<dir>__DIR__)"""
    r"""|(?P<dirname>dirname\s*\(\s*__FILE__\s*\))|(?P<abspath>ABSPATH)\b"""
    r"""|(?P<bool>true|false)\b|(?P<num>-?\d+)\b)""",
    re.IGNORECASE,
)
_PHP_DEFINE = re.compile(r"\bdefine\s*\(\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\1\s*,", re.IGNORECASE)
_PHP_PREFIX = re.compile(r"\$table_prefix\s*=")


class Unresolved(ValueError):
    """A PHP value that is not a literal omctl can read without running PHP."""


def php_value(code: str, pos: int, here: str, abspath: str) -> tuple[Any, int]:
    """The value of a constant expression at ``pos``: string and number literals, true/false,
    ``__DIR__``/``dirname(__FILE__)`` (``here``) and ``ABSPATH`` joined by ``.``."""
    parts: list[Any] = []
    while True:
        match = _PHP_TERM.match(code, pos)
        if not match:
            raise Unresolved("not a literal")
        pos = match.end()
        if match["sq"] is not None:
            parts.append(re.sub(r"\\([\\'])", r"\1", match["sq"]))
        elif match["dq"] is not None:
            if "$" in match["dq"].replace("\\$", ""):
                raise Unresolved("interpolated string")
            parts.append(re.sub(r"\\([\\\"$])", r"\1", match["dq"]))
        elif match["dir"] or match["dirname"]:
            parts.append(here)
        elif match["abspath"]:
            parts.append(abspath.rstrip("/") + "/")
        elif match["bool"]:
            parts.append(match["bool"].lower() == "true")
        else:
            parts.append(int(match["num"]))
        dot = re.match(r"\s*\.(?!\d)", code[pos:])
        if not dot:
            break
        pos += dot.end()
    if len(parts) == 1:
        return parts[0], pos
    return "".join(str(p) for p in parts), pos


def parse_wp_config(text: str, file: str, abspath: str) -> tuple[dict[str, Any], list[str]]:
    """The allow-listed settings of a wp-config.php (see WP_CONSTANTS and table_prefix) and the
    warnings about values that could not be read. No other value is ever extracted."""
    code = php_code(text)
    here = os.path.dirname(file)
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for match in _PHP_DEFINE.finditer(code):
        key = WP_CONSTANTS.get(match[2].upper())
        if key is None or key in values:
            continue
        line = code.count("\n", 0, match.start()) + 1
        try:
            value, end = php_value(code, match.end(), here, abspath)
            if not re.match(r"\s*\)", code[end:]):
                raise Unresolved("an expression")
        except Unresolved as exc:
            warnings.append(f"{file}:{line}: {match[2]} is {exc}, not read")
            continue
        values[key] = value
    prefix = _PHP_PREFIX.search(code)
    if prefix:
        line = code.count("\n", 0, prefix.start()) + 1
        try:
            value, end = php_value(code, prefix.end(), here, abspath)
            if not re.match(r"\s*;", code[end:]):
                raise Unresolved("an expression")
            values["table_prefix"] = str(value)
        except Unresolved as exc:
            warnings.append(f"{file}:{line}: $table_prefix is {exc}, not read")
    return values, warnings


def wp_version(text: str) -> str | None:
    """``$wp_version`` of wp-includes/version.php."""
    match = re.search(r"^\s*\$wp_version\s*=\s*(['\"])([^'\"]+)\1\s*;", text, re.MULTILINE)
    return match[2] if match else None


def find_wordpress(
    tree: Tree, starts: list[tuple[str, int]], limit: int = MAX_WALKED_DIRS
) -> list[tuple[str, str]]:
    """(path, real path) of every install (a directory with wp-includes/version.php) at most
    ``depth`` levels below each start. Symbolic links to directories are checked but never
    walked into (no loops, and a release tree is found through its ``current`` link once);
    installs are not searched inside. The first path found for a real path wins."""
    found: dict[str, str] = {}
    walked = 0
    for start, depth in starts:
        queue = [(os.path.normpath(start), 0)]
        while queue and walked <= limit:
            path, level = queue.pop(0)
            if tree.isfile(f"{path}/wp-includes/version.php"):
                found.setdefault(tree.real(path), path)
                continue
            walked += 1
            if walked > limit:
                tree.warnings.append(f"WordPress search stopped after {limit} directories")
                break
            if level >= depth:
                continue
            entries = tree.listdir(path)
            # A tree served through a link next to it (current -> releases/7) is found through
            # that link only: the releases beside it are not sites.
            linked = [tree.real(f"{path}/{e.name}") for e in entries if e.is_symlink()]
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                    continue
                child = f"{path.rstrip('/')}/{entry.name}"
                if entry.is_symlink():
                    if tree.isfile(f"{child}/wp-includes/version.php"):
                        found.setdefault(tree.real(child), child)
                elif entry.is_dir() and not any(_inside(t, tree.real(child)) for t in linked):
                    queue.append((child, level + 1))
    return sorted((p, r) for r, p in found.items())


def _wp_config_file(tree: Tree, path: str) -> str | None:
    """wp-config.php in the install or, as WordPress looks, one level up when that directory
    is not an install itself."""
    own = f"{path}/wp-config.php"
    if tree.isfile(own):
        return own
    parent = os.path.dirname(path.rstrip("/"))
    if tree.isfile(f"{parent}/wp-config.php") and not tree.isfile(f"{parent}/wp-settings.php"):
        return f"{parent}/wp-config.php"
    return None


def wordpress_sites(tree: Tree, path: str, real: str) -> list[dict[str, Any]]:
    """The sites of one install: one, or one per Debian config-<host>.php."""
    version = wp_version(tree.read(f"{path}/wp-includes/version.php") or "")
    if version is None:
        tree.warnings.append(f"{path}/wp-includes/version.php: no $wp_version")
    base = {
        "path": path,
        "realpath": real,
        "version": version,
        "layout": "upstream",
        "config": None,
        "host": None,
    }
    config = _wp_config_file(tree, path)
    configs: list[tuple[str, str | None]] = []
    defaults: dict[str, Any] = {}
    if config is None:
        tree.warnings.append(f"{path}: WordPress without a wp-config.php")
    else:
        text = tree.read(config) or ""
        if "/etc/wordpress/config-" in text:
            # Debian: wp-config.php requires config-<host>.php first (its defines win) and
            # then defines what that left unset (DB_NAME, WP_CONTENT_DIR, table_prefix).
            base["layout"] = "debian"
            defaults, warnings = parse_wp_config(text, config, path)
            tree.warnings.extend(warnings)
            debian = tree.glob("/etc/wordpress/config-*.php")
            configs = [(f, f.rsplit("/config-", 1)[1][: -len(".php")]) for f in debian]
            if not configs:
                tree.warnings.append(f"{config}: Debian layout but no /etc/wordpress/config-*.php")
        else:
            configs = [(config, None)]
    sites = []
    for file, host in configs or [(None, None)]:
        values: dict[str, Any] = {}
        if file is not None:
            values, warnings = parse_wp_config(tree.read(file) or "", file, path)
            tree.warnings.extend(warnings)
            values = {**defaults, **values}
            if "db_name" not in values and not any("DB_NAME" in w for w in warnings):
                tree.warnings.append(f"{file}: no DB_NAME")
        content = values.get("content_dir")
        sites.append(
            {
                **base,
                "config": file,
                "host": host,
                "db_name": values.get("db_name"),
                "db_user": values.get("db_user"),
                "db_host": values.get("db_host"),
                "db_charset": values.get("db_charset"),
                "table_prefix": values.get("table_prefix"),
                "content_dir": os.path.normpath(content)
                if isinstance(content, str) and content
                else f"{path.rstrip('/')}/wp-content",
                "home": values.get("home"),
                "siteurl": values.get("siteurl"),
                "multisite": values.get("multisite") is True,
                "sites": [],
            }
        )
    return sites


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def debian_configs(site: dict[str, Any], hosts: set[str]) -> set[str]:
    """The /etc/wordpress/config-<host>.php hosts a site's requests load, as Debian's
    wp-config.php picks them: WORDPRESS_CONFIG when the site sets it, else per server name the
    host's own file, else its parent domain's, else config-default.php (catch-all names too)."""
    if site.get("wordpress_config"):
        return {site["wordpress_config"]}
    used = set()
    for server_name in site.get("names") or [""]:
        name = server_name.lower()
        parent = name.split(".", 1)[1] if "." in name else ""
        if name in hosts and not set(name) & set("*~$"):
            used.add(name)
        elif parent in hosts:
            used.add(parent)
        else:
            used.add("default")
    return used


def link_wordpress(tree: Tree, installs: list[dict[str, Any]], sites: list[dict[str, Any]]) -> None:
    """Name the sites whose document root is an install or holds it (for Debian's package,
    those whose requests load that config)."""
    roots = [(s, tree.real(r)) for s in sites for r in s["roots"]]
    for install in installs:
        serving = [s for s, root in roots if _inside(install["realpath"], root)]
        if install["layout"] == "debian":
            hosts = {i["host"] for i in installs if i["realpath"] == install["realpath"]}
            serving = [s for s in serving if install["host"] in debian_configs(s, hosts)]
        install["sites"] = list(dict.fromkeys(s["id"] for s in serving))


# --- the whole host --------------------------------------------------------------------------


def run_command(argv: list[str], timeout: int = 20) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "LC_ALL": "C",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def _binary(tree: Tree, *names: str) -> str | None:
    for name in names:
        for directory in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin"):
            if tree.isfile(f"{directory}/{name}"):
                return f"{directory}/{name}"
    return None


def _version(run: Runner | None, argv: list[str], regex: str) -> str | None:
    if run is None:
        return None
    rc, out, err = run(argv)
    match = re.search(regex, out + err, re.MULTILINE) if rc == 0 else None
    return match[1] if match else None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")[:200]


def discover_mariadb(
    tree: Tree, run: Runner | None, units: dict[str, dict[str, str]]
) -> dict[str, Any]:
    server = _binary(tree, "mariadbd", "mysqld")
    service = units.get("mariadb.service") or units.get("mysql.service")
    candidates = ["/etc/mysql/my.cnf", "/etc/mysql/mariadb.cnf"]
    for directory in ("conf.d", "mariadb.conf.d", "mysql.conf.d"):
        candidates += tree.glob(f"/etc/mysql/{directory}/*.cnf")
    option_files = [f for f in candidates if tree.isfile(f)]
    options = parse_mysql_options([(f, tree.read(f) or "") for f in option_files])
    found: dict[str, Any] = {
        "installed": bool(server or service),
        "flavour": None,
        "binary": server,
        "version": None,
        "service": service,
        **options,
        "databases": None,
        "databases_error": None,
    }
    if not found["installed"]:
        return found
    if server:
        found["flavour"] = (
            "mariadb"
            if server.endswith("mariadbd") or tree.isfile("/usr/sbin/mariadbd")
            else "mysql"
        )
        found["version"] = _version(run, [server, "--version"], r"Ver (\d+\.\d+\.\d+)")
    client = _binary(tree, "mariadb", "mysql")
    if run is None:
        return found
    if client is None:
        found["databases_error"] = "no mysql client installed"
    elif service and service["active"] != "active":
        found["databases_error"] = f"{service['unit']} is {service['active']}"
    else:
        rc, out, err = run(
            [
                client,
                "--protocol=socket",
                f"--socket={options['socket']}",
                "--connect-timeout=5",
                "--batch",
                "--skip-column-names",
                "-e",
                "SHOW DATABASES",
            ]
        )
        if rc == 0:
            found["databases"] = sorted(
                {n.strip() for n in out.splitlines() if n.strip()} - SYSTEM_SCHEMAS
            )
        else:
            found["databases_error"] = _first_line(err)
    return found


def discover_postgresql(
    tree: Tree, run: Runner | None, units: dict[str, dict[str, str]]
) -> dict[str, Any]:
    clusters = []
    for conf in tree.glob("/etc/postgresql/*/*/postgresql.conf"):
        version, name = conf.split("/")[3:5]
        port = re.search(r"^\s*port\s*=\s*(\d+)", tree.read(conf) or "", re.MULTILINE)
        clusters.append({"version": version, "name": name, "port": int(port[1]) if port else 5432})
    service = units.get("postgresql.service")
    found: dict[str, Any] = {
        "installed": bool(clusters or service),
        "version": None,
        "service": service,
        "clusters": clusters,
        "databases": None,
        "databases_error": None,
    }
    if not found["installed"] or run is None:
        return found
    psql, runuser = _binary(tree, "psql"), _binary(tree, "runuser")
    if psql is None or runuser is None:
        found["databases_error"] = "no psql or runuser"
        return found
    databases: set[str] = set()
    for cluster in clusters or [{"port": 5432}]:
        rc, out, err = run(
            [
                runuser,
                "-u",
                "postgres",
                "--",
                psql,
                "-X",
                "-A",
                "-t",
                "-p",
                str(cluster["port"]),
                "-c",
                "SHOW server_version",
                "-c",
                PG_DATABASES,
            ]
        )
        if rc != 0:
            found["databases_error"] = _first_line(err)
            continue
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        found["version"] = found["version"] or first_version(lines[0] if lines else "")
        databases.update(lines[1:])
    if databases or found["databases_error"] is None:
        found["databases"] = sorted(databases - {"postgres"})
    return found


def discover(
    root: str = "/",
    run: Runner | None = run_command,
    wordpress_paths: list[str] | None = None,
    wordpress_depth: int = 3,
) -> dict[str, Any]:
    """Everything the module returns. ``run`` None reads files only."""
    tree = Tree(root)
    php_units = [
        f"php{d.split('/')[3]}-fpm.service" for d in tree.glob("/etc/php/*/fpm") if tree.isdir(d)
    ]
    unit_names = [
        "nginx.service",
        "apache2.service",
        "mariadb.service",
        "mysql.service",
        "postgresql.service",
        *php_units,
    ]
    units: dict[str, dict[str, str]] = {}
    if run is not None:
        rc, out, err = run(
            [
                "systemctl",
                "show",
                "--property=Id,LoadState,ActiveState,SubState,UnitFileState",
                "--",
                *unit_names,
            ]
        )
        if rc == 0:
            units = parse_systemctl_show(out)
        else:
            tree.warnings.append(f"systemctl show: {_first_line(err)}")

    web: dict[str, Any] = {}
    sites: list[dict[str, Any]] = []
    nginx_bin = _binary(tree, "nginx")
    nginx_conf = "/etc/nginx/nginx.conf"
    config, files = load_nginx(tree, nginx_conf) if tree.isfile(nginx_conf) else ([], [])
    sites += nginx_sites(config, tree)
    web["nginx"] = {
        "installed": bool(nginx_bin or units.get("nginx.service")),
        "binary": nginx_bin,
        "version": _version(run, [nginx_bin, "-v"], r"nginx/(\d+\.\d+\.\d+)")
        if nginx_bin
        else None,
        "service": units.get("nginx.service"),
        "config": nginx_conf if files else None,
        "files": files,
    }
    apache_bin = _binary(tree, "apache2", "httpd")
    # apache2ctl sets Debian's environment (envvars) that apache2 itself needs to start.
    apache_ctl = _binary(tree, "apache2ctl", "apachectl") or apache_bin
    config, files = load_apache(tree) if tree.isdir("/etc/apache2") else ([], [])
    sites += apache_sites(config)
    web["apache"] = {
        "installed": bool(apache_bin or units.get("apache2.service")),
        "binary": apache_bin,
        "version": _version(run, [apache_ctl, "-v"], r"Apache/(\d+\.\d+\.\d+)")
        if apache_ctl
        else None,
        "service": units.get("apache2.service"),
        "config": "/etc/apache2/apache2.conf" if tree.isfile("/etc/apache2/apache2.conf") else None,
        "files": files,
    }

    versions, pools = [], []
    for fpm in tree.glob("/etc/php/*/fpm"):
        version = fpm.split("/")[3]
        binary = _binary(tree, f"php-fpm{version}")
        versions.append(
            {
                "version": version,
                "binary": binary,
                "service": units.get(f"php{version}-fpm.service"),
            }
        )
        for file in tree.glob(f"{fpm}/pool.d/*.conf"):
            text = tree.read(file)
            if text is None:
                continue
            try:
                pools.extend(parse_fpm_pools(text, file, version))
            except ParseError as exc:
                tree.warnings.append(str(exc))
    link_pools(sites, pools)

    starts = [(r, 1) for s in sites for r in s["roots"] if _literal_path(r)]
    paths = WORDPRESS_PATHS if wordpress_paths is None else wordpress_paths
    starts += [(p, wordpress_depth) for p in paths]
    installs = [
        site
        for path, real in find_wordpress(tree, starts)
        for site in wordpress_sites(tree, path, real)
    ]
    link_wordpress(tree, installs, sites)

    return {
        "web_servers": web,
        "sites": sites,
        "php_fpm": {"versions": versions, "pools": pools},
        "databases": {
            "mariadb": discover_mariadb(tree, run, units),
            "postgresql": discover_postgresql(tree, run, units),
        },
        "wordpress": installs,
        "warnings": list(dict.fromkeys(tree.warnings)),
    }


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "wordpress_paths": {"type": "list", "elements": "path", "default": WORDPRESS_PATHS},
            "wordpress_depth": {"type": "int", "default": 3},
            "commands": {"type": "bool", "default": True},
            "root": {"type": "path", "default": "/"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["wordpress_depth"] < 0:
        module.fail_json(msg=f"wordpress_depth must be 0 or more, not {params['wordpress_depth']}")
    if not os.path.isdir(params["root"]):
        module.fail_json(msg=f"root {params['root']} is not a directory")
    run = run_command if params["commands"] and params["root"] == "/" else None
    result = discover(params["root"], run, params["wordpress_paths"], params["wordpress_depth"])
    # "warnings" is Ansible's own key (it would print them as deprecated module warnings).
    module.exit_json(changed=False, discovery_warnings=result.pop("warnings"), **result)


if __name__ == "__main__":
    main()
