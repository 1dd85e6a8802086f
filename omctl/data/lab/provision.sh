#!/bin/sh
# Turns a minimal (mmdebstrap minbase) Debian 12 root into the omctl lab image: a realistic client web server
# (nginx + PHP-FPM + MariaDB + the Debian wordpress package, installed and serving a site) that
# boots systemd in a podman container and accepts key-only root SSH.
#
# Run by omctl/lab/image.py inside the chroot, as a hook of mmdebstrap: provision.sh PACKAGE...
# image.py has already written /etc/apt/sources.list.d/debian.sources and mounted /proc, /dev,
# a private /run and (as a .deb cache shared between builds) /var/cache/apt/archives.
# Changing this file changes the image tag, so the next `omctl lab up` rebuilds the image.
set -eu

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 LANG=C.UTF-8
SITE_TITLE="omctl lab site"
WP_DB=wordpress
WP_DB_USER=wordpress
WP_CONFIG=/etc/wordpress/config-default.php
# The lab's own plugin and theme (omctl/data/lab/wordpress), copied in by omctl/lab/image.py.
LAB_WORDPRESS=/usr/share/omctl-lab/wordpress
LAB_PLUGIN=omctl-lab-plugin
LAB_THEME=omctl-lab-theme

say() { echo "provision: $*"; }
die() { echo "provision: error: $*" >&2; exit 1; }
random_token() { head -c 512 /dev/urandom | base64 -w 0 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

[ "$#" -gt 0 ] || die "usage: provision.sh PACKAGE..."

# --- no service may start while we build ------------------------------------------------------
cat > /usr/sbin/policy-rc.d <<'EOF'
#!/bin/sh
# omctl lab build: services start at container boot, never inside the build chroot.
exit 101
EOF
chmod 0755 /usr/sbin/policy-rc.d

# --- locale ---------------------------------------------------------------------------------------
# mmdebstrap writes none; pam_env then logs an error at every login, noise in every diagnosis.
echo 'LANG=C.UTF-8' > /etc/default/locale

# --- packages -------------------------------------------------------------------------------------
say "apt: update, upgrade, install $*"
echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/90omctl-lab-no-recommends
apt-get update -q
apt-get -y -q -o Dpkg::Options::=--force-confold dist-upgrade
apt-get -y -q -o Dpkg::Options::=--force-confold install "$@"
if dpkg-query -W -f '${Package} ${Status}\n' 'apache2*' 'libapache2*' 2>/dev/null \
        | grep -q ' installed$'; then
    die "apache2 was pulled in: list 'php' (with php-fpm) before 'wordpress' in the package list"
fi
PHP_VERSION=$(php -r 'echo PHP_MAJOR_VERSION.".".PHP_MINOR_VERSION;')
PHP_FPM_SOCKET=/run/php/php${PHP_VERSION}-fpm.sock
[ -d "/etc/php/$PHP_VERSION/fpm" ] || die "php-fpm $PHP_VERSION is not installed"

# --- systemd in a container ----------------------------------------------------------------------
say "systemd: empty machine-id, mask units that cannot work in a container"
# An empty machine-id makes systemd generate a fresh one for every container at boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
# A container has no console to log in on and no root file system of its own to remount. systemd
# 252 skips these units by their conditions today; masked so that a `podman run -t` never puts a
# getty on the console and nothing ever remounts the overlay root.
for unit in \
        systemd-remount-fs.service getty@tty1.service console-getty.service; do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done
systemctl set-default multi-user.target

# --- sshd: key-only root login, fresh host keys per container ---------------------------------
say "sshd: key-only root login, host keys generated at first boot"
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/10-omctl-lab.conf <<'EOF'
# omctl lab: root logs in with a key only.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
rm -f /etc/ssh/ssh_host_*
cat > /etc/systemd/system/ssh-host-keys.service <<'EOF'
[Unit]
Description=Generate missing SSH host keys (omctl lab: none are baked into the image)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
RequiredBy=ssh.service
EOF
systemctl enable ssh-host-keys.service ssh.service
# pam_loginuid cannot write /proc/self/loginuid in a container: a required module fails logins.
for pam in /etc/pam.d/*; do
    sed -i -E 's/^(session[[:space:]]+)required([[:space:]]+pam_loginuid\.so)/\1optional\2/' "$pam"
done
install -d -m 0700 /root/.ssh
: > /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys

# --- nginx + php-fpm serving WordPress --------------------------------------------------------
say "nginx: WordPress site on port 80 through php-fpm $PHP_VERSION"
cat > /etc/nginx/sites-available/wordpress <<EOF
# omctl lab: the Debian wordpress package, served through php${PHP_VERSION}-fpm.
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    server_name _;

    root /usr/share/wordpress;
    index index.php;
    client_max_body_size 32m;

    access_log /var/log/nginx/wordpress.access.log;
    error_log /var/log/nginx/wordpress.error.log;

    location = /favicon.ico { log_not_found off; access_log off; }
    location = /robots.txt { log_not_found off; access_log off; }

    location / {
        try_files \$uri \$uri/ /index.php?\$args;
    }

    # Debian keeps wp-content (uploads, themes, plugins) under /var/lib/wordpress.
    location ~ ^/wp-content/(.*)\$ {
        alias /var/lib/wordpress/wp-content/\$1;
    }

    location ~ \.php\$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:${PHP_FPM_SOCKET};
    }

    location ~* \.(js|css|png|jpg|jpeg|gif|ico|svg|woff2?)\$ {
        expires 7d;
        log_not_found off;
    }
}
EOF
rm -f /etc/nginx/sites-enabled/default
ln -sf /etc/nginx/sites-available/wordpress /etc/nginx/sites-enabled/wordpress
nginx -t

# --- MariaDB database and the WordPress config ---------------------------------------------
say "wordpress: database, config, install"
DB_PASSWORD=$(random_token 32)
ADMIN_PASSWORD=$(random_token 24)
[ "${#DB_PASSWORD}" -eq 32 ] && [ "${#ADMIN_PASSWORD}" -eq 24 ] || die "could not generate passwords"

salt_lines=""
for key in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY \
           AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
    salt_lines="${salt_lines}define('${key}', '$(random_token 64)');
"
done

# Debian's /usr/share/wordpress/wp-config.php loads /etc/wordpress/config-<HTTP_HOST>.php and
# falls back to config-default.php: one file serves localhost, 127.0.0.1 and the hostname.
umask 0027
cat > "$WP_CONFIG" <<EOF
<?php
/* omctl lab: WordPress configuration for every host name (see README.Debian). */
define('DB_NAME', '${WP_DB}');
define('DB_USER', '${WP_DB_USER}');
define('DB_PASSWORD', '${DB_PASSWORD}');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
${salt_lines}\$table_prefix = 'wp_';
define('WP_DEBUG', false);
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
/* Lab hosts are reached through forwarded ports: links follow the address the client used,
   so WordPress never redirects away from 127.0.0.1:<port>. */
if (!empty(\$_SERVER['HTTP_HOST'])) {
    define('WP_HOME', 'http://' . \$_SERVER['HTTP_HOST']);
    define('WP_SITEURL', 'http://' . \$_SERVER['HTTP_HOST']);
}
/* WP-Cron runs from the system cron (/etc/cron.d/wordpress), not on page views. */
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
EOF
umask 0022
chown root:www-data "$WP_CONFIG"
chmod 0640 "$WP_CONFIG"

cat > /etc/cron.d/wordpress <<'EOF'
# omctl lab: WordPress scheduled tasks (DISABLE_WP_CRON is set in the config).
*/5 * * * * www-data cd /usr/share/wordpress && HTTP_HOST=localhost /usr/bin/php -f wp-cron.php >/dev/null 2>&1
EOF
chmod 0644 /etc/cron.d/wordpress

# MariaDB runs only for the install: no network, a private socket, a clean shutdown.
install -d -o mysql -g mysql -m 0755 /run/mysqld
MARIADB_PID=""
stop_mariadb() {
    if [ -n "$MARIADB_PID" ] && kill -0 "$MARIADB_PID" 2>/dev/null; then
        mariadb-admin --protocol=socket shutdown 2>/dev/null || kill "$MARIADB_PID"
        wait "$MARIADB_PID" || true
    fi
    MARIADB_PID=""
}
trap stop_mariadb EXIT
mariadbd --user=mysql --skip-networking --socket=/run/mysqld/mysqld.sock \
    --pid-file=/run/mysqld/mysqld.pid --log-error=/run/mysqld/build.err &
MARIADB_PID=$!
tries=0
until mariadb-admin --protocol=socket ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ] || ! kill -0 "$MARIADB_PID" 2>/dev/null; then
        cat /run/mysqld/build.err >&2 || true
        die "mariadbd did not start"
    fi
    sleep 0.5
done

mariadb --protocol=socket <<EOF
CREATE DATABASE IF NOT EXISTS \`${WP_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE OR REPLACE USER '${WP_DB_USER}'@'localhost' IDENTIFIED BY '${DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`${WP_DB}\`.* TO '${WP_DB_USER}'@'localhost';
FLUSH PRIVILEGES;
EOF

# Debian's package reads plugins and themes from WP_CONTENT_DIR (/var/lib/wordpress/wp-content,
# its own as symbolic links into /usr/share/wordpress/wp-content): ours are copied in, as a
# client's would be, owned by the web server user as WordPress's own installer leaves them.
say "wordpress: plugin $LAB_PLUGIN and theme $LAB_THEME"
[ -f "$LAB_WORDPRESS/plugins/$LAB_PLUGIN/$LAB_PLUGIN.php" ] && [ -f "$LAB_WORDPRESS/themes/$LAB_THEME/style.css" ] \
    || die "$LAB_WORDPRESS has no $LAB_PLUGIN or $LAB_THEME (see omctl/lab/image.py)"
chown -R root:root "$LAB_WORDPRESS"
chmod -R u=rwX,go=rX "$LAB_WORDPRESS"
for kind in plugins themes; do
    cp -r "$LAB_WORDPRESS/$kind/." "/var/lib/wordpress/wp-content/$kind/"
done
chown -R www-data:www-data "/var/lib/wordpress/wp-content/plugins/$LAB_PLUGIN" \
    "/var/lib/wordpress/wp-content/themes/$LAB_THEME"

cat > /tmp/omctl-wp-install.php <<'EOF'
<?php
// Installs WordPress as its web installer would, for the host name "localhost".
$_SERVER['HTTP_HOST'] = 'localhost';
$_SERVER['SERVER_NAME'] = 'localhost';
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
// Pluggable: no mail server in the build chroot.
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {}
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (is_blog_installed()) {
    fwrite(STDERR, "WordPress is already installed\n");
    exit(1);
}
$result = wp_install(
    getenv('SITE_TITLE'), 'admin', 'admin@lab.invalid', true, '', wp_slash(getenv('ADMIN_PASSWORD'))
);
if (is_wp_error($result) || !is_blog_installed()) {
    fwrite(STDERR, "wp_install failed\n");
    exit(1);
}
update_option('permalink_structure', '/%postname%/');
update_option('blogdescription', 'A client web server managed by omctl');
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$activated = activate_plugin(getenv('LAB_PLUGIN') . '/' . getenv('LAB_PLUGIN') . '.php');
if (is_wp_error($activated)) {
    fwrite(STDERR, 'activate_plugin failed: ' . $activated->get_error_message() . "\n");
    exit(1);
}
$theme = wp_get_theme(getenv('LAB_THEME'));
if (!$theme->exists() || $theme->errors()) {
    fwrite(STDERR, 'theme ' . getenv('LAB_THEME') . " is not usable\n");
    exit(1);
}
switch_theme($theme->get_stylesheet());
$post = wp_insert_post(array(
    'post_title' => 'Welcome to the omctl lab',
    'post_content' => '<p>This WordPress site runs on a lab host managed by omctl.</p>',
    'post_status' => 'publish',
    'post_author' => $result['user_id'],
), true);
if (is_wp_error($post)) {
    fwrite(STDERR, 'wp_insert_post failed: ' . $post->get_error_message() . "\n");
    exit(1);
}
echo "installed '" . get_option('blogname') . "' with post $post, theme " . get_stylesheet() . "\n";
EOF
SITE_TITLE="$SITE_TITLE" ADMIN_PASSWORD="$ADMIN_PASSWORD" LAB_PLUGIN="$LAB_PLUGIN" LAB_THEME="$LAB_THEME" \
    runuser -u www-data -- php -d display_errors=stderr /tmp/omctl-wp-install.php
rm -f /tmp/omctl-wp-install.php
[ "$(mariadb --protocol=socket -N -e "SELECT option_value FROM ${WP_DB}.wp_options WHERE option_name='blogname'")" = "$SITE_TITLE" ] \
    || die "WordPress tables were not created"
stop_mariadb
trap - EXIT
rm -f /run/mysqld/build.err

# The WordPress admin password stays on the host, readable by root only.
umask 0077
printf 'user: admin\npassword: %s\n' "$ADMIN_PASSWORD" > /root/wordpress-admin.txt
umask 0022

# --- offline apt repository -------------------------------------------------------------------
# Tools the roles install (fail2ban, nftables, lynis, restic, ...) are downloaded, not installed:
# a file: source serves them, so `apt install` works in a lab container with no network.
OFFLINE_REPO=/srv/omctl-lab-repo
if [ -n "${OMCTL_LAB_OFFLINE:-}" ]; then
    say "offline repository: $OMCTL_LAB_OFFLINE"
    mkdir -p "$OFFLINE_REPO/partial"
    # shellcheck disable=SC2086 # a list of package names
    apt-get -y -q --download-only -o Dir::Cache::archives="$OFFLINE_REPO" install $OMCTL_LAB_OFFLINE
    rmdir "$OFFLINE_REPO/partial" 2>/dev/null || rm -rf "$OFFLINE_REPO/partial"
    rm -f "$OFFLINE_REPO/lock"
    apt-get -y -q install apt-utils
    (cd "$OFFLINE_REPO" && apt-ftparchive packages . > Packages && gzip -9kf Packages \
        && apt-ftparchive -o APT::FTPArchive::Release::Origin=omctl-lab release . > Release)
    # The same versions are on the Debian mirror: prefer the copies that need no network.
    cat > /etc/apt/preferences.d/omctl-lab-offline <<PIN
Package: *
Pin: release o=omctl-lab
Pin-Priority: 600
PIN
    cat > /etc/apt/sources.list.d/omctl-lab-offline.sources <<SOURCES
# omctl lab: packages the roles install, served from the image itself (no network needed).
Types: deb
URIs: file:$OFFLINE_REPO
Suites: ./
Trusted: yes
SOURCES
    apt-get update -q
    for package in $OMCTL_LAB_OFFLINE; do
        dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q ' installed$' \
            && die "$package should only be downloaded, but it is installed"
    done
fi

# --- clean up -----------------------------------------------------------------------------------
say "cleanup: apt caches, logs, policy-rc.d"
if mountpoint -q /var/cache/apt/archives; then
    : # the .deb cache is shared between builds: image.py unmounts it
else
    apt-get clean
fi
rm -f /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old
rm -rf /tmp/* /var/tmp/* /root/.bash_history
find /var/log -type f -exec truncate -s 0 {} +
: > /etc/resolv.conf
rm -f /usr/sbin/policy-rc.d
say "done"
