#!/bin/sh
# omctl hardening: the automatic revert of the sshd and firewall changes.
#   revert.sh save          copy the sshd drop-in, /etc/nftables.conf and the live omctl table
#   revert.sh arm SECONDS   run `restore` that many seconds from now (a transient systemd timer)
#   revert.sh disarm        cancel it; prints when a restore ran, or "never"
#   revert.sh restore       put them back and reload sshd and the table (run by the armed
#                           timer, or by the role itself when it can still reach the host)
# Only omctl's own drop-in and table are touched; other tables (Docker, fail2ban) stay.
set -u
STATE_DIR=/var/lib/omctl-hardening
SAVED="$STATE_DIR/revert"
TABLE=omctl_hardening
UNIT=omctl-hardening-revert
FILES="/etc/ssh/sshd_config.d/00-omctl-hardening.conf /etc/nftables.conf"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

name_of() { echo "$1" | tr / _; }

save() {
    rm -rf "$SAVED.new"
    mkdir -p "$SAVED.new"
    chmod 0700 "$SAVED.new"
    for file in $FILES; do
        if [ -e "$file" ]; then
            cp -a "$file" "$SAVED.new/$(name_of "$file")"
        else
            : > "$SAVED.new/$(name_of "$file").absent"
        fi
    done
    # Declaring then deleting the table makes the restore atomic whether it existed or not.
    {
        echo "table inet $TABLE"
        echo "delete table inet $TABLE"
        if command -v nft >/dev/null 2>&1; then
            nft list table inet "$TABLE" 2>/dev/null || true
        fi
    } > "$SAVED.new/table.nft"
    rm -rf "$SAVED"
    mv "$SAVED.new" "$SAVED"
}

restore() {
    [ -d "$SAVED" ] || { echo "nothing saved in $SAVED" >&2; exit 1; }
    for file in $FILES; do
        copy="$SAVED/$(name_of "$file")"
        if [ -e "$copy" ]; then
            cp -a "$copy" "$file"
        elif [ -e "$copy.absent" ]; then
            rm -f "$file"
        fi
    done
    rc=0
    if command -v nft >/dev/null 2>&1; then
        nft -f "$SAVED/table.nft" || rc=1
    fi
    rm -f "$STATE_DIR/nft.sha256"
    systemctl reload ssh.service 2>/dev/null || systemctl restart ssh.service || rc=1
    date -u +%Y-%m-%dT%H:%M:%SZ > "$SAVED/reverted"
    logger -t omctl-hardening "restored the previous sshd drop-in and firewall table (rc=$rc)" \
        2>/dev/null || true
    exit "$rc"
}

arm() {
    case "${1:-}" in
        ''|*[!0-9]*) echo "arm: seconds expected" >&2; exit 2 ;;
    esac
    rm -f "$SAVED/reverted"
    # A restore that failed earlier leaves its unit behind, which would block the name.
    systemctl reset-failed "$UNIT.service" "$UNIT.timer" 2>/dev/null || true
    systemd-run --unit="$UNIT" \
        --description="omctl hardening: restore sshd and firewall unless a fresh login proved them" \
        --on-active="${1}s" --timer-property=AccuracySec=1s \
        /bin/sh "$STATE_DIR/revert.sh" restore
}

disarm() {
    systemctl stop "$UNIT.timer" 2>/dev/null
    systemctl reset-failed "$UNIT.service" "$UNIT.timer" 2>/dev/null
    cat "$SAVED/reverted" 2>/dev/null || echo never
}

case "${1:-}" in
    save) save ;;
    arm) arm "${2:-}" ;;
    disarm) disarm ;;
    restore) restore ;;
    *) echo "usage: $0 save|arm SECONDS|disarm|restore" >&2; exit 2 ;;
esac
