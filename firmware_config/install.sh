#!/usr/bin/env bash
# Install doorstep on Raspberry Pi OS (Debian 12 base). Run as root from the source tree:
#   sudo make install        (or: sudo ./firmware_config/install.sh)
#   sudo make uninstall      (or: sudo ./firmware_config/install.sh --uninstall)
# Re-running is safe: only what is missing or different is changed, and the homeowner's
# /etc/doorstep/doorstep.toml is never overwritten. Uninstall keeps config and data.
#
# Environment, for packagers and tests:
#   DESTDIR=/some/root            install into another root (no systemctl, no apt there)
#   DOORSTEP_SKIP_APT=1           do not install Debian packages
#   DOORSTEP_SKIP_VENV=1          do not create the venv or install the Python package
#   DOORSTEP_WITH_MOSQUITTO=1     also install a local mosquitto broker
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
root=${DESTDIR:-}
opt=$root/opt/doorstep
etc=$root/etc/doorstep
state=$root/var/lib/doorstep
unit=$root/etc/systemd/system/doorstep.service
say() { echo "doorstep: $*"; }

has_entry() { grep -q "^$2:" "$root/etc/$1" 2>/dev/null; }
member_of() { grep -q "^$1:.*[:,]doorstep\(,\|$\)" "$root/etc/group" 2>/dev/null; }
gid_of() { awk -F: -v g="$1" '$1 == g { print $3 }' "$root/etc/group"; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$root/etc/passwd"; }

# Copy $1 to $2 with mode $3 (and owner/group $4/$5) only when the content or mode differ.
put_file() {
  if ! cmp -s "$1" "$2" || [ "$(stat -c %a "$2")" != "$3" ]; then
    install -D -m "$3" -o "${4:-0}" -g "${5:-0}" "$1" "$2"
    say "installed $2"
  fi
}
put_dir() {  # path mode [uid gid]
  [ -d "$1" ] && [ "$(stat -c %a "$1")" = "$2" ] && return
  install -d -m "$2" -o "${3:-0}" -g "${4:-0}" "$1"
}

install_packages() {
  [ -n "$root" ] || [ "${DOORSTEP_SKIP_APT:-0}" = 1 ] && return
  local wanted="python3-venv python3-picamera2 python3-lgpio python3-av" missing=""
  [ "${DOORSTEP_WITH_MOSQUITTO:-0}" = 1 ] && wanted="$wanted mosquitto"
  # The live view's RTSP server (docs/protocol.md §12), only when asked for.
  [ "${DOORSTEP_WITH_LIVE:-0}" = 1 ] && wanted="$wanted python3-gi gir1.2-gst-rtsp-server-1.0 \
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
  for pkg in $wanted; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
  [ -z "$missing" ] && return
  # Without recommends: on Raspberry Pi OS Lite, python3-picamera2's recommendations pull in a
  # desktop's worth of Qt and OpenGL that a doorbell never uses.
  apt-get update && apt-get install -y --no-install-recommends $missing
}

create_user() {
  local prefix=()
  [ -n "$root" ] && prefix=(--prefix "$root")
  for group in gpio video; do
    has_entry group "$group" || groupadd "${prefix[@]}" --system "$group"
  done
  if ! has_entry passwd doorstep; then
    useradd "${prefix[@]}" --system --user-group --home-dir /var/lib/doorstep --no-create-home \
      --shell /usr/sbin/nologin --comment "doorstep doorbell" doorstep
    say "created system user doorstep"
  fi
  for group in gpio video; do
    member_of "$group" || usermod "${prefix[@]}" --append --groups "$group" doorstep
  done
}

install_venv() {
  [ "${DOORSTEP_SKIP_VENV:-0}" = 1 ] && return
  put_dir "$opt" 755
  # --system-site-packages: picamera2 and lgpio come from apt.
  [ -x "$opt/venv/bin/python" ] || python3 -m venv --system-site-packages "$opt/venv"
  local digest
  digest=$(cd "$src" && find pyproject.toml edge simulator -type f -name '*.py' -o -name pyproject.toml \
           | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
  if [ "$(cat "$opt/venv/.doorstep-source" 2>/dev/null)" != "$digest" ]; then
    "$opt/venv/bin/pip" install --quiet "$src"
    echo "$digest" > "$opt/venv/.doorstep-source"
    say "installed the doorstep package into $opt/venv"
  fi
}

install_files() {
  local uid gid
  uid=$(uid_of doorstep); gid=$(gid_of doorstep)
  put_dir "$etc" 750 0 "$gid"
  put_dir "$etc/keys" 750 0 "$gid"
  put_dir "$etc/credentials" 700          # root only; systemd hands them to the daemon
  put_dir "$state" 700 "$uid" "$gid"
  if [ ! -e "$etc/doorstep.toml" ]; then  # never overwrite the homeowner's config
    put_file "$src/firmware_config/doorstep.toml" "$etc/doorstep.toml" 640 0 "$gid"
  fi
  put_file "$src/systemd/doorstep.service" "$unit" 644
}

enable_unit() {
  [ -n "$root" ] && return
  systemctl daemon-reload
  systemctl is-enabled --quiet doorstep || systemctl enable doorstep
}

uninstall() {
  if [ -z "$root" ]; then
    systemctl disable --now doorstep 2>/dev/null || true
  fi
  rm -f "$unit"
  [ -z "$root" ] && systemctl daemon-reload
  rm -rf "$opt"
  say "removed; kept $etc and $state (delete them yourself to forget everything)"
}

[ "$(id -u)" = 0 ] || { echo "doorstep: run as root (sudo make install)" >&2; exit 1; }
if [ "${1:-}" = "--uninstall" ]; then
  uninstall
  exit 0
fi
install_packages
create_user
install_venv
install_files
enable_unit
say "done. Next: put the cloud's public key in /etc/doorstep/keys/, edit /etc/doorstep/doorstep.toml,"
say "check it with '/opt/doorstep/venv/bin/doorstep doctor --config /etc/doorstep/doorstep.toml',"
say "then 'systemctl start doorstep' and 'journalctl -u doorstep -f'."
