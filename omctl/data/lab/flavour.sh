#!/bin/bash
# Turns a freshly started lab host (the one lab image: nginx + PHP-FPM + MariaDB + Debian's
# wordpress package) into another kind of client server, once, at start-up:
#
#   bare       no web stack: nginx, PHP, MariaDB and WordPress purged; ssh and systemd remain
#   upstream   WordPress laid out as an upstream install in /var/www/shop (its own wp-config.php,
#              database and user `shop`), nginx server_name shop.lab.test; Debian's package purged
#   two-sites  two upstream installs on one nginx: shop (shop.lab.test, default_server) and blog
#              (blog.lab.test), each with its own database
#   apache     Apache 2 with PHP-FPM (proxy_fcgi) serving Debian's package WordPress; nginx purged
#
# Run by omctl/lab/hosts.py as root inside the running container (podman exec ... bash -c SCRIPT NAME).
# Packages come only from the image's offline repository (the lab has no network). Idempotent:
# the marker /etc/omctl-lab-flavour is written last, and a host that has it is left alone.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 LANG=C.UTF-8
SITE_TITLE="omctl lab site"
MARKER=/etc/omctl-lab-flavour
WWW=/var/www
DEBIAN_WP=/usr/share/wordpress
# The lab's own plugin and theme (omctl/data/lab/wordpress), kept in the image by provision.sh.
LAB_WORDPRESS=/usr/share/omctl-lab/wordpress
LAB_PLUGIN=omctl-lab-plugin
LAB_THEME=omctl-lab-theme

say() { echo "flavour: $*"; }
die() { echo "flavour: error: $*" >&2; exit 1; }
random_token() { head -c 512 /dev/urandom | base64 -w 0 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

[ "$#" -eq 1 ] || die "usage: flavour.sh bare|upstream|two-sites|apache"
FLAVOUR=$1
case "$FLAVOUR" in
    bare | upstream | two-sites | apache) ;;
    *) die "unknown flavour '$FLAVOUR'" ;;
esac

if [ -e "$MARKER" ]; then
    done_as=$(cat "$MARKER")
    [ "$done_as" = "$FLAVOUR" ] || die "this host is already the '$done_as' flavour"
    say "already set up as $FLAVOUR"
    exit 0
fi

# systemd's boot must be over (MariaDB up) before anything is purged or installed; a degraded
# boot is fine here. Right after `podman run` systemctl may not reach systemd yet.
for _ in $(seq 1 180); do
    state=$(systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 1
done

apt_get() { apt-get -y -q -o Dpkg::Options::=--force-confold "$@"; }

installed_matching() {
    dpkg-query -W -f '${Package} ${Status}\n' 2>/dev/null \
        | awk -v re="$1" '$1 ~ re && $NF == "installed" { print $1 }'
}

php_version() { php -r 'echo PHP_MAJOR_VERSION.".".PHP_MINOR_VERSION;'; }

mariadb_wait() {
    local tries=0
    until mariadb-admin --protocol=socket ping >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -le 120 ] || die "MariaDB does not answer on its socket"
        sleep 0.5
    done
}

# The WordPress files of Debian's package, copied as an upstream install would have them:
# symbolic links dereferenced, no Debian loader wp-config.php or .htaccess link; the lab's own
# plugin and theme in its wp-content.
copy_wordpress() {
    local dest=$1
    [ -f "$dest/wp-includes/version.php" ] && return 0
    [ -f "$LAB_WORDPRESS/plugins/$LAB_PLUGIN/$LAB_PLUGIN.php" ] \
        || die "$LAB_WORDPRESS has no $LAB_PLUGIN: an image older than this flavour.sh"
    install -d -m 0755 "$dest"
    cp -rL "$DEBIAN_WP/." "$dest/"
    rm -f "$dest/wp-config.php" "$dest/.htaccess"
    install -d -m 0755 "$dest/wp-content/uploads" "$dest/wp-content/upgrade"
    cp -r "$LAB_WORDPRESS/plugins/." "$dest/wp-content/plugins/"
    cp -r "$LAB_WORDPRESS/themes/." "$dest/wp-content/themes/"
    chown -R www-data:www-data "$dest/wp-content"
}

# An upstream wp-config.php: own database, user, random password and salts, table prefix wp_.
write_wp_config() {
    local dest=$1 db=$2 password=$3 key
    {
        echo "<?php"
        echo "/* omctl lab: an upstream WordPress install (wp-config-sample.php filled in). */"
        echo "define( 'DB_NAME', '$db' );"
        echo "define( 'DB_USER', '$db' );"
        echo "define( 'DB_PASSWORD', '$password' );"
        echo "define( 'DB_HOST', 'localhost' );"
        echo "define( 'DB_CHARSET', 'utf8mb4' );"
        echo "define( 'DB_COLLATE', '' );"
        for key in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY \
                   AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
            echo "define( '$key', '$(random_token 64)' );"
        done
        echo "\$table_prefix = 'wp_';"
        echo "define( 'WP_DEBUG', false );"
        echo "define( 'AUTOMATIC_UPDATER_DISABLED', true );"
        echo "if ( ! defined( 'ABSPATH' ) ) {"
        echo "    define( 'ABSPATH', __DIR__ . '/' );"
        echo "}"
        echo "require_once ABSPATH . 'wp-settings.php';"
    } > "$dest/wp-config.php.tmp"
    chown root:www-data "$dest/wp-config.php.tmp"
    chmod 0640 "$dest/wp-config.php.tmp"
    mv "$dest/wp-config.php.tmp" "$dest/wp-config.php"
}

# wp_install() as the web installer runs it (provision.sh does the same for Debian's package).
# The admin password stays on the host, readable by root only (as provision.sh keeps its own).
install_wordpress() {
    local dest=$1 host=$2 password installed
    password=$(random_token 24)
    [ "${#password}" -eq 24 ] || die "could not generate a password"
    installed=$(SITE_TITLE="$SITE_TITLE" ADMIN_PASSWORD="$password" WP_ROOT="$dest" \
        WP_HOST="$host" LAB_PLUGIN="$LAB_PLUGIN" LAB_THEME="$LAB_THEME" runuser -u www-data -- php -d display_errors=stderr <<'PHP'
<?php
$host = getenv('WP_HOST');
$_SERVER['HTTP_HOST'] = $host;
$_SERVER['SERVER_NAME'] = $host;
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
// Pluggable: no mail server in the lab.
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {}
require getenv('WP_ROOT') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (is_blog_installed()) {
    echo "already installed\n";
    exit(0);
}
$result = wp_install(
    getenv('SITE_TITLE'), 'admin', 'admin@lab.invalid', true, '', wp_slash(getenv('ADMIN_PASSWORD'))
);
if (is_wp_error($result) || !is_blog_installed()) {
    fwrite(STDERR, "wp_install failed\n");
    exit(1);
}
update_option('siteurl', "http://$host");
update_option('home', "http://$host");
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
echo "installed '" . get_option('blogname') . "' at " . get_option('home') . "\n";
PHP
)
    echo "$installed"
    if [ "$installed" != "already installed" ]; then
        (umask 0077 && printf 'user: admin\npassword: %s\n' "$password" \
            > "/root/wordpress-admin-$host.txt")
    fi
}

# One upstream site: files, database and user, wp-config.php, install, nginx server block.
upstream_site() {
    local name=$1 host=$2 default=$3 password listen
    say "upstream WordPress $WWW/$name for $host (database $name)"
    copy_wordpress "$WWW/$name"
    password=$(random_token 32)
    [ "${#password}" -eq 32 ] || die "could not generate a password"
    mariadb_wait
    mariadb --protocol=socket <<SQL
CREATE DATABASE IF NOT EXISTS \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE OR REPLACE USER '$name'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`$name\`.* TO '$name'@'localhost';
FLUSH PRIVILEGES;
SQL
    write_wp_config "$WWW/$name" "$name" "$password"
    install_wordpress "$WWW/$name" "$host"
    listen="listen 80;
    listen [::]:80;"
    if [ "$default" = default ]; then
        listen="listen 80 default_server;
    listen [::]:80 default_server;"
    fi
    cat > "/etc/nginx/sites-available/$name" <<EOF
# omctl lab: upstream WordPress in $WWW/$name, served through php$(php_version)-fpm.
server {
    $listen
    server_name $host;

    root $WWW/$name;
    index index.php;
    client_max_body_size 32m;

    access_log /var/log/nginx/$name.access.log;
    error_log /var/log/nginx/$name.error.log;

    location = /favicon.ico { log_not_found off; access_log off; }
    location = /robots.txt { log_not_found off; access_log off; }

    location / {
        try_files \$uri \$uri/ /index.php?\$args;
    }

    location ~ \.php\$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php$(php_version)-fpm.sock;
    }

    location ~* \.(js|css|png|jpg|jpeg|gif|ico|svg|woff2?)\$ {
        expires 7d;
        log_not_found off;
    }
}
EOF
    ln -sf "/etc/nginx/sites-available/$name" "/etc/nginx/sites-enabled/$name"
}

# Debian's package goes, with its database, its config, its cron job and its nginx site.
purge_debian_wordpress() {
    say "purging Debian's wordpress package and its database"
    rm -f /etc/nginx/sites-enabled/wordpress /etc/nginx/sites-available/wordpress
    # shellcheck disable=SC2046 # a list of package names
    apt_get purge $(installed_matching '^wordpress')
    rm -rf /etc/wordpress /var/lib/wordpress /usr/share/wordpress
    rm -f /etc/cron.d/wordpress /root/wordpress-admin.txt
    mariadb_wait
    mariadb --protocol=socket <<'SQL'
DROP DATABASE IF EXISTS `wordpress`;
DROP USER IF EXISTS 'wordpress'@'localhost';
FLUSH PRIVILEGES;
SQL
}

reload_nginx() {
    nginx -t
    systemctl reload-or-restart nginx
}

flavour_bare() {
    say "purging nginx, PHP, MariaDB and WordPress"
    systemctl stop nginx 'php*-fpm' mariadb 2>/dev/null || true
    local packages
    packages=$(installed_matching '^(nginx|libnginx-mod|php|mariadb|mysql-|default-mysql|galera|wordpress)')
    # shellcheck disable=SC2086 # a list of package names
    [ -z "$packages" ] || apt_get purge --auto-remove $packages
    rm -rf /etc/nginx /etc/php /etc/mysql /var/lib/mysql /var/log/mysql /run/mysqld \
        /etc/wordpress /var/lib/wordpress /usr/share/wordpress /var/www /var/log/nginx
    rm -f /etc/cron.d/wordpress /root/wordpress-admin.txt
    systemctl daemon-reload
    systemctl reset-failed
}

flavour_upstream() {
    upstream_site shop shop.lab.test default
    purge_debian_wordpress
    reload_nginx
}

flavour_two_sites() {
    upstream_site shop shop.lab.test default
    upstream_site blog blog.lab.test ""
    purge_debian_wordpress
    reload_nginx
}

flavour_apache() {
    local php
    php=$(php_version)
    say "Apache 2 with php$php-fpm (proxy_fcgi) for Debian's package WordPress; nginx purged"
    systemctl stop nginx
    # In one transaction: wordpress depends on "apache2 | httpd", so it stays installed.
    # shellcheck disable=SC2046 # a list of package names
    apt_get install --purge apache2 $(installed_matching '^(nginx|libnginx-mod)' | sed 's/$/-/')
    rm -rf /etc/nginx /var/log/nginx
    a2dismod -q php"$php" >/dev/null 2>&1 || true
    a2dismod -q mpm_prefork >/dev/null 2>&1 || true
    a2enmod -q mpm_event proxy_fcgi setenvif
    a2enconf -q "php$php-fpm"
    cat > /etc/apache2/sites-available/wordpress.conf <<'EOF'
# omctl lab: the Debian wordpress package (README.Debian), PHP through php-fpm (proxy_fcgi).
<VirtualHost *:80>
    DocumentRoot /usr/share/wordpress

    Alias /wp-content /var/lib/wordpress/wp-content
    <Directory /usr/share/wordpress>
        Options FollowSymLinks
        AllowOverride Limit Options FileInfo
        DirectoryIndex index.php
        FallbackResource /index.php
        Require all granted
    </Directory>
    <Directory /var/lib/wordpress/wp-content>
        Options FollowSymLinks
        Require all granted
    </Directory>

    ErrorLog ${APACHE_LOG_DIR}/wordpress.error.log
    CustomLog ${APACHE_LOG_DIR}/wordpress.access.log combined
</VirtualHost>
EOF
    a2dissite -q 000-default
    a2ensite -q wordpress
    apache2ctl configtest
    systemctl enable apache2
    systemctl restart apache2
}

say "setting up the $FLAVOUR flavour"
case "$FLAVOUR" in
    bare) flavour_bare ;;
    upstream) flavour_upstream ;;
    two-sites) flavour_two_sites ;;
    apache) flavour_apache ;;
esac
echo "$FLAVOUR" > "$MARKER.tmp"
mv "$MARKER.tmp" "$MARKER"
say "done: $FLAVOUR"
