"""The lab: Debian 12 web servers in podman containers, built locally with no registry.

``image`` builds and caches the image from the mirror that ``apt`` finds in the controller's
sources; ``hosts`` starts, readies and removes the containers (and their flavours); ``inventory``
writes ``inventories/lab/`` so that the lab is a client like any other; ``tools`` runs podman
and the other tools. This module is the package's public face: the CLI and tests use it.
"""

from omctl.lab.apt import (
    find_mirror,
    parse_deb822_sources,
    parse_one_line_sources,
    read_apt_sources,
)
from omctl.lab.hosts import (
    DEFAULT_FLAVOUR,
    FLAVOUR_SCRIPT,
    FLAVOURS,
    LABEL_FLAVOUR,
    LABEL_WORKSPACE,
    MAX_HOSTS,
    LabHost,
    down,
    ensure_key,
    flavour,
    flavour_hostnames,
    free_port,
    http_ready,
    run_options,
    status,
    up,
    wait_ready,
)
from omctl.lab.image import (
    BUILD_VERSION,
    IMAGE_NAME,
    LATEST_REF,
    PACKAGES,
    PROVISION_SCRIPT,
    ensure_image,
    image_ref,
    recipe_hash,
)
from omctl.lab.inventory import (
    MARKER,
    group_vars_file,
    hosts_file,
    scope_file,
    write_inventory,
    write_scope,
)
from omctl.lab.tools import (
    CONTAINERS_CONF,
    LOOPBACK,
    key_path,
    known_hosts_path,
    podman,
    podman_env,
)

__all__ = [
    "BUILD_VERSION",
    "CONTAINERS_CONF",
    "DEFAULT_FLAVOUR",
    "FLAVOURS",
    "FLAVOUR_SCRIPT",
    "IMAGE_NAME",
    "LABEL_FLAVOUR",
    "LABEL_WORKSPACE",
    "LATEST_REF",
    "LOOPBACK",
    "MARKER",
    "MAX_HOSTS",
    "PACKAGES",
    "PROVISION_SCRIPT",
    "LabHost",
    "down",
    "ensure_image",
    "ensure_key",
    "find_mirror",
    "flavour",
    "flavour_hostnames",
    "free_port",
    "group_vars_file",
    "hosts_file",
    "http_ready",
    "image_ref",
    "key_path",
    "known_hosts_path",
    "parse_deb822_sources",
    "parse_one_line_sources",
    "podman",
    "podman_env",
    "read_apt_sources",
    "recipe_hash",
    "run_options",
    "scope_file",
    "status",
    "up",
    "wait_ready",
    "write_inventory",
    "write_scope",
]
