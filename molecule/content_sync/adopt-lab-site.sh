#!/bin/sh
# Moves the lab's WordPress (the Debian package's tree in /usr/share/wordpress) into the release
# layout content_sync manages, and points nginx at <root>/current. Used by the Molecule prepare
# step and the integration tests; idempotent. Usage: adopt-lab-site.sh [ROOT] [FIRST-RELEASE-ID]
set -eu
root=${1:-/srv/www/lab}
first=${2:-00000000T000000Z-lab}
vhost=/etc/nginx/sites-available/wordpress

if [ ! -L "$root/current" ]; then
    mkdir -p "$root/releases" "$root/shared/wp-content"
    [ -d "$root/shared/wp-content/uploads" ] \
        || cp -a /var/lib/wordpress/wp-content/uploads "$root/shared/wp-content/uploads"
    chown -R www-data:www-data "$root/shared"
    rm -rf "${root:?}/releases/$first"
    cp -a /usr/share/wordpress "$root/releases/$first"
    ln -s "$root/shared/wp-content/uploads" "$root/releases/$first/wp-content/uploads"
    printf '{"release": "%s", "previous": null, "source": {"type": "adopted", "source": "/usr/share/wordpress"}}\n' \
        "$first" > "$root/releases/$first.json"
    ln -sfn "releases/$first" "$root/current"
fi

# WordPress writes uploads under its WP_CONTENT_DIR, which nginx serves at /wp-content/: both
# reach the shared folder through this link.
if [ ! -L /var/lib/wordpress/wp-content/uploads ]; then
    cp -a /var/lib/wordpress/wp-content/uploads/. "$root/shared/wp-content/uploads/"
    rm -rf /var/lib/wordpress/wp-content/uploads
    ln -s "$root/shared/wp-content/uploads" /var/lib/wordpress/wp-content/uploads
fi

# nginx serves current; PHP gets the resolved path ($realpath_root), so that a switch reaches
# PHP at once (its realpath cache and opcache key on paths).
[ -f "$vhost.omctl-lab-orig" ] || cp -p "$vhost" "$vhost.omctl-lab-orig"
sed -i -e "s#^\([[:space:]]*root[[:space:]]\{1,\}\)/usr/share/wordpress;#\1$root/current;#" "$vhost"
grep -q 'realpath_root' "$vhost" || sed -i -e '/include snippets\/fastcgi-php.conf;/a\
        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;\
        fastcgi_param DOCUMENT_ROOT $realpath_root;' "$vhost"
nginx -t -q
systemctl reload nginx
