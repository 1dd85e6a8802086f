#!/bin/sh
# omctl hardening: `sshd -t` of a candidate drop-in as sshd will read it, i.e. included
# before the rest of sshd_config (sshd keeps the first value of each option).
# Usage: sshd-test.sh CANDIDATE
set -u
wrapper=$(mktemp) || exit 1
printf 'Include %s\nInclude /etc/ssh/sshd_config\n' "$1" > "$wrapper"
/usr/sbin/sshd -t -f "$wrapper"
rc=$?
rm -f "$wrapper"
exit "$rc"
