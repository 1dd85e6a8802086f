#!/usr/bin/python
"""Ask each WordPress site what it has installed - core, plugins, must-use plugins and themes,
with their versions, whether they are active and the updates WordPress already knows of - by
running the site's own PHP on ``wp-load.php``, as the site itself would load.

Plain Python (standard library only): building the command and reading PHP's answer are pure
functions that import without Ansible, so the unit tests run the very code the host runs. Only
``main()`` talks to Ansible. The PHP program is sent on PHP's standard input: nothing is written
on the host.
"""

# Ansible modules document themselves before their imports.

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_inventory
short_description: Core, plugins and themes of WordPress sites, as WordPress itself reports them
description:
  - Read-only. For every site of O(sites) (roles/discover's C(wordpress) entries), runs the PHP CLI
    on a program sent on its standard input that defines C(WP_USE_THEMES) false, loads the site's
    C(wp-load.php) with its output discarded, and prints JSON - C($wp_version), C(get_plugins())
    with C(is_plugin_active()), C(get_mu_plugins()), C(wp_get_themes()) with the active stylesheet
    and template, the home URL, whether the site is a multisite, and the updates WordPress
    already knows of (the C(update_core), C(update_plugins) and C(update_themes) site
    transients, read as they are).
  - No network: every HTTP request WordPress would make while loading (update checks, the
    cron's loopback request) is answered with an error by a C(pre_http_request) hook installed
    before WordPress starts, and WP-Cron sees a fresh lock, so it neither spawns nor writes one.
  - PHP runs as O(sites[].user) when given, else as the owner of the site's files when that is
    not root, else as the owner of its content directory when that is not root (Debian's package
    and the lab's upstream installs are root's with a C(wp-content) of C(www-data)), else as
    root. Debian's package picks its C(/etc/wordpress/config-<host>.php) by the C(HTTP_HOST) the
    program sets from O(sites[].host).
  - A site that cannot be read (PHP missing, a PHP fatal error while loading, the database down,
    a timeout) gets an C(error) saying why and no items; the task itself does not fail.
  - Changes nothing; runs the same in check mode.
options:
  sites:
    description:
      - The sites to read, as roles/discover returns them (C(discover_found.wordpress)). Read
        from each - C(path) (required, the directory with C(wp-load.php)), C(host) (Debian's
        config host; C(default) or none means C(localhost)), C(content_dir), C(user); other keys
        are ignored.
    type: list
    elements: dict
    required: true
  php:
    description: The PHP CLI binary, a name looked up in PATH or a path.
    type: str
    default: php
  timeout:
    description: Seconds one site may take to load and answer.
    type: int
    default: 60
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Ask each WordPress what it has installed
  wordpress_inventory:
    sites: "{{ discover_found.wordpress }}"
  register: __wordpress_inventory
"""

RETURN = r"""
sites:
  description:
    - One entry per site given, in order - C(path), C(host), C(user) (who PHP ran as), C(url)
      (C(home_url())), C(siteurl), C(multisite), C(items) and C(error) (null, or why the site
      could not be read; C(items) is then empty).
    - Each item is C(type) (C(core), C(plugin) or C(theme)), C(slug) (C(wordpress) for core; a
      plugin's directory, or its file name without C(.php); a theme's stylesheet), C(name),
      C(version), C(active) (core always; a plugin active on the site or network-wide, every
      must-use plugin; the theme in use and the parent it builds on) and C(update)
      (C({"version": ...}) when WordPress knows of a newer one, else null). Plugins add
      C(file), C(must_use) and C(network_active); themes add C(parent).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/usr/share/wordpress", "host": "default", "user": "www-data",
            "url": "http://localhost", "siteurl": "http://localhost", "multisite": false,
            "error": null,
            "items": [{"type": "core", "slug": "wordpress", "name": "WordPress",
                       "version": "6.1.9", "active": true, "update": null},
                      {"type": "plugin", "slug": "omctl-lab-plugin", "name": "omctl lab plugin",
                       "version": "1.0", "active": true,
                       "file": "omctl-lab-plugin/omctl-lab-plugin.php", "must_use": false,
                       "network_active": false, "update": null},
                      {"type": "theme", "slug": "omctl-lab-theme", "name": "omctl lab theme",
                       "version": "1.0", "active": true, "parent": null,
                       "update": {"version": "1.1"}}]}]
"""

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

MARKER = "OMCTL-WORDPRESS-INVENTORY "
ITEM_TYPES = ("core", "plugin", "theme")
# (returncode, stdout, stderr) of an argv with its extra environment; 127 when it could not run,
# 124 when it timed out.
Runner = Callable[[list[str], dict[str, str], str], tuple[int, str, str]]

# Sent on PHP's standard input. Prints one line: MARKER + JSON, also when WordPress dies while
# loading (the shutdown function runs before PHP flushes WordPress's buffered output).
PROGRAM = r"""<?php
error_reporting(E_ALL & ~E_DEPRECATED & ~E_NOTICE & ~E_STRICT);
$omctl_marker = 'OMCTL-WORDPRESS-INVENTORY ';
$omctl_done = false;
$omctl_host = getenv('OMCTL_WP_HOST');
if ($omctl_host === false || $omctl_host === '') {
    $omctl_host = 'localhost';
}
$_SERVER['HTTP_HOST'] = $omctl_host;
$_SERVER['SERVER_NAME'] = $omctl_host;
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
define('WP_USE_THEMES', false);
// Hooks WordPress takes over when it starts: no HTTP request leaves (update checks, the cron's
// loopback request), and the cron sees a fresh lock, so it neither spawns nor writes one.
$GLOBALS['wp_filter'] = array(
    'pre_http_request' => array(10 => array(array(
        'function' => function () {
            return new WP_Error('omctl_offline', 'omctl reads WordPress offline');
        },
        'accepted_args' => 1,
    ))),
    'pre_transient_doing_cron' => array(10 => array(array(
        'function' => function () {
            return sprintf('%.22F', microtime(true));
        },
        'accepted_args' => 1,
    ))),
);
register_shutdown_function(function () use ($omctl_marker) {
    global $omctl_done;
    if ($omctl_done) {
        return;
    }
    $output = '';
    while (ob_get_level() > 0) {
        $output .= ob_get_clean();
    }
    $output = preg_replace('#<(style|script|head)\b[^>]*>.*?</\1>#si', ' ', $output);
    $output = trim(preg_replace('/\s+/', ' ', strip_tags($output)));
    $last = error_get_last();
    $fatal = array(E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR, E_USER_ERROR);
    echo $omctl_marker . json_encode(array(
        'fatal' => ($last && in_array($last['type'], $fatal, true)) ? $last : null,
        'output' => substr($output, 0, 500),
    )) . "\n";
});
ob_start();
require getenv('OMCTL_WP_ROOT') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
ob_end_clean();

function omctl_slug($file) {
    $dir = dirname($file);
    return $dir === '.' ? preg_replace('/\.php$/', '', basename($file)) : $dir;
}

$update_core = get_site_transient('update_core');
$update_plugins = get_site_transient('update_plugins');
$update_themes = get_site_transient('update_themes');
$core_update = null;
if (is_object($update_core) && !empty($update_core->updates)) {
    foreach ($update_core->updates as $offer) {
        if (isset($offer->response, $offer->version) && $offer->response === 'upgrade') {
            $core_update = array('version' => (string) $offer->version);
            break;
        }
    }
}
$items = array(array(
    'type' => 'core', 'slug' => 'wordpress', 'name' => 'WordPress',
    'version' => (string) $GLOBALS['wp_version'], 'active' => true, 'update' => $core_update,
));
foreach (get_plugins() as $file => $data) {
    $update = null;
    if (is_object($update_plugins) && isset($update_plugins->response[$file]->new_version)) {
        $update = array('version' => (string) $update_plugins->response[$file]->new_version);
    }
    $items[] = array(
        'type' => 'plugin', 'slug' => omctl_slug($file), 'name' => $data['Name'],
        'version' => $data['Version'], 'active' => is_plugin_active($file),
        'network_active' => is_multisite() && is_plugin_active_for_network($file),
        'must_use' => false, 'file' => $file, 'update' => $update,
    );
}
foreach (get_mu_plugins() as $file => $data) {
    $items[] = array(
        'type' => 'plugin', 'slug' => omctl_slug($file), 'name' => $data['Name'],
        'version' => $data['Version'], 'active' => true, 'network_active' => false,
        'must_use' => true, 'file' => $file, 'update' => null,
    );
}
$stylesheet = get_stylesheet();
$template = get_template();
foreach (wp_get_themes() as $slug => $theme) {
    $update = null;
    if (is_object($update_themes) && isset($update_themes->response[$slug]['new_version'])) {
        $update = array('version' => (string) $update_themes->response[$slug]['new_version']);
    }
    $items[] = array(
        'type' => 'theme', 'slug' => (string) $slug, 'name' => $theme->get('Name'),
        'version' => $theme->get('Version'),
        'active' => $slug === $stylesheet || $slug === $template,
        'parent' => $theme->parent() ? $theme->get_template() : null,
        'update' => $update,
    );
}
$omctl_done = true;
echo $omctl_marker . json_encode(array(
    'url' => home_url(),
    'siteurl' => site_url(),
    'multisite' => is_multisite(),
    'items' => $items,
)) . "\n";
"""


def config_host(site: Mapping[str, Any]) -> str:
    """The HTTP_HOST the site is loaded for: Debian's config host, ``localhost`` by default."""
    host = site.get("host")
    return "localhost" if not host or host == "default" else str(host)


def owner(path: str) -> str | None:
    """The user owning ``path``, None when it is root's or cannot be read."""
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return None
    if uid == 0:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def run_as(site: Mapping[str, Any], owner_of: Callable[[str], str | None] = owner) -> str:
    """Who PHP runs as: the given user, the owner of the files, of the content, else root."""
    if site.get("user"):
        return str(site["user"])
    path = str(site["path"])
    content = str(site.get("content_dir") or os.path.join(path, "wp-content"))
    return owner_of(os.path.join(path, "wp-load.php")) or owner_of(content) or "root"


def command(php: str, user: str, as_root: bool) -> list[str]:
    """The PHP CLI reading its program on stdin, errors on stderr, through runuser if needed."""
    argv = [php, "-d", "display_errors=stderr", "-d", "log_errors=0", "-d", "html_errors=0"]
    if as_root and user != "root":
        return ["runuser", "-u", user, "--", *argv]
    return argv


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def fatal_text(fatal: Mapping[str, Any]) -> str:
    """A PHP fatal error in one line: its message without the stack trace, and where."""
    message = str(fatal.get("message") or "").split("\nStack trace:")[0].strip()
    message = first_line(message) or "(no message)"
    where = f" in {fatal['file']}:{fatal['line']}" if fatal.get("file") else ""
    if where and where.strip() in message:
        where = ""
    return f"PHP fatal error while loading WordPress: {message}{where}"


def item(raw: Any) -> dict[str, Any] | None:
    """One core/plugin/theme entry with its types checked, None when it is not one."""
    if not isinstance(raw, dict) or raw.get("type") not in ITEM_TYPES:
        return None
    if not isinstance(raw.get("slug"), str) or not raw["slug"]:
        return None
    found = dict(raw)
    version = raw.get("version")
    found["version"] = str(version) if version not in (None, "") else None
    found["active"] = bool(raw.get("active"))
    update = raw.get("update")
    if isinstance(update, dict) and update.get("version") not in (None, ""):
        found["update"] = {"version": str(update["version"])}
    else:
        found["update"] = None
    return found


def parse(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """PHP's answer as ``{url, siteurl, multisite, items, error}``; ``error`` says why not."""
    empty: dict[str, Any] = {"url": None, "siteurl": None, "multisite": None, "items": []}
    answer = None
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            try:
                answer = json.loads(line[len(MARKER) :])
            except ValueError:
                return {**empty, "error": "the inventory program printed JSON that does not parse"}
    if returncode == 127:
        return {**empty, "error": f"PHP could not be run: {first_line(stderr) or 'not found'}"}
    if returncode == 124:
        return {**empty, "error": first_line(stderr) or "PHP timed out"}
    if answer is not None and not isinstance(answer, dict):
        return {**empty, "error": "the inventory program's answer is not a JSON object"}
    if answer is None:
        why = first_line(stderr) or first_line(stdout) or "no output"
        return {**empty, "error": f"PHP exited {returncode} without an answer: {why}"}
    if "items" not in answer:
        # Written by the shutdown function: WordPress died while loading.
        if isinstance(answer.get("fatal"), dict):
            return {**empty, "error": fatal_text(answer["fatal"])}
        said = str(answer.get("output") or "").strip()
        return {**empty, "error": "WordPress stopped while loading" + (f": {said}" if said else "")}
    raw_items = answer.get("items")
    if not isinstance(raw_items, list):
        return {**empty, "error": "the inventory program's items are not a list"}
    items = [found for found in (item(raw) for raw in raw_items) if found is not None]
    if not any(i["type"] == "core" for i in items):
        return {**empty, "error": "WordPress answered without its core version"}
    return {
        "url": answer.get("url") if isinstance(answer.get("url"), str) else None,
        "siteurl": answer.get("siteurl") if isinstance(answer.get("siteurl"), str) else None,
        "multisite": bool(answer.get("multisite")),
        "items": items,
        "error": None,
    }


def subprocess_runner(timeout: int) -> Runner:
    def run(argv: list[str], env: dict[str, str], stdin: str) -> tuple[int, str, str]:
        full_env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                    "LC_ALL": "C", "HOME": "/", **env}  # fmt: skip
        try:
            # A session of its own: on a timeout PHP goes too, not only runuser.
            process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=full_env, text=True, errors="replace", start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            return 127, "", str(exc)
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return 124, "", f"PHP did not answer within {timeout} s"
        return process.returncode, out, err

    return run


def inventory(
    site: Mapping[str, Any],
    php: str | None,
    runner: Runner,
    as_root: bool = True,
    owner_of: Callable[[str], str | None] = owner,
    is_file: Callable[[str], bool] = os.path.isfile,
) -> dict[str, Any]:
    """One site's entry: who PHP ran as, and what WordPress said (or why it said nothing)."""
    path = str(site.get("path") or "")
    entry: dict[str, Any] = {"path": path or None, "host": site.get("host"), "user": None}
    if not path:
        return {**entry, "url": None, "siteurl": None, "multisite": None, "items": [],
                "error": "no path given for this site"}  # fmt: skip
    if not is_file(os.path.join(path, "wp-load.php")):
        return {**entry, "url": None, "siteurl": None, "multisite": None, "items": [],
                "error": f"no wp-load.php in {path}"}  # fmt: skip
    if php is None:
        return {**entry, "url": None, "siteurl": None, "multisite": None, "items": [],
                "error": "no PHP CLI (php) on this host"}  # fmt: skip
    user = run_as(site, owner_of) if as_root else None
    entry["user"] = user
    env = {"OMCTL_WP_ROOT": path, "OMCTL_WP_HOST": config_host(site)}
    rc, out, err = runner(command(php, user or "", as_root), env, PROGRAM)
    return {**entry, **parse(rc, out, err)}


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "sites": {"type": "list", "elements": "dict", "required": True},
            "php": {"type": "str", "default": "php"},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    php_name = module.params["php"]
    php = php_name if os.path.isabs(php_name) and os.access(php_name, os.X_OK) else None
    php = php or shutil.which(php_name)
    runner = subprocess_runner(module.params["timeout"])
    as_root = os.geteuid() == 0
    sites = [inventory(site, php, runner, as_root) for site in module.params["sites"]]
    module.exit_json(changed=False, sites=sites)


if __name__ == "__main__":
    main()
