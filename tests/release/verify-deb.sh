#!/usr/bin/env bash
# Installs OneWindow's .deb on a fresh Debian 12 and starts it there.
#
#   tests/release/verify-deb.sh path/to/OneWindow_<version>_amd64.deb
#
# A minimal Debian 12 (debootstrap --variant=minbase, cached as a tarball
# under ~/.cache) is unpacked afresh for every check; the package is
# installed with apt, which must find every dependency the package declares
# (nothing else of this machine is visible inside). Then a new user starts
# the installed app with no configuration, under Xvfb with a Secret Service,
# and the check reads the app's own log: it started, opened its encrypted
# store, loaded the bundled catalogue and data standards, and runs with no
# back office. Needs root (chroot, mounts) and Debian's package mirror.
set -euo pipefail

deb=$(readlink -f "$1")
cache="${XDG_CACHE_HOME:-$HOME/.cache}"
base="$cache/onewindow-debian12-minbase.tar"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

say() { printf '  [verify-deb] %s\n' "$*"; }

if [ ! -f "$base" ]; then
  say "making a minimal Debian 12 with debootstrap (cached as $base)"
  staging=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$staging" "$mirror" >/dev/null
  tar -C "$staging" -cf "$base.partial" .
  mv "$base.partial" "$base"
  rm -rf "$staging"
fi

root=$(mktemp -d -t onewindow-debian12.XXXXXX)
cleanup() {
  for mount in dev/shm dev/pts dev sys proc; do
    umount -l "$root/$mount" 2>/dev/null || true
  done
  rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o size=256m tmpfs "$root/dev/shm"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/onewindow.deb"
in_debian() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

say "the package declares: $(dpkg-deb -f "$deb" Depends)"
in_debian apt-get update -qq
say "installing the .deb with apt on the fresh Debian 12"
in_debian apt-get install -y -qq /tmp/onewindow.deb >/dev/null
in_debian dpkg -s "$(dpkg-deb -f "$deb" Package)" | grep -E '^(Status|Version)'
test -x "$root/usr/bin/onewindow"
# The bundled catalogue, standards, calendar and scenarios.
for folder in catalog standards calendar training; do
  test -d "$root/usr/lib/OneWindow/forms/$folder" || { say "missing bundled folder forms/$folder"; exit 1; }
done
# Tools for this check only (a screen and a session bus), not for the app.
in_debian apt-get install -y -qq --no-install-recommends xvfb xauth dbus-daemon gnome-keyring >/dev/null

say "starting the installed app as a new user, with defaults"
in_debian useradd --create-home clerk
cat > "$root/home/clerk/start.sh" <<'INNER'
#!/bin/bash
echo pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
xvfb-run -a -s "-screen 0 1366x768x24" onewindow > "$HOME/app.out" 2>&1 &
app=$!
sleep "${SETTLE_SECONDS:-25}"
if kill -0 "$app" 2>/dev/null; then echo running > "$HOME/state"; else echo exited > "$HOME/state"; fi
pkill -TERM -x onewindow || true
wait "$app" 2>/dev/null || true
INNER
chmod +x "$root/home/clerk/start.sh"
in_debian su clerk -s /bin/bash -c 'cd && HOME=/home/clerk dbus-run-session -- ./start.sh' \
  > "$root/home/clerk/session.out" 2>&1
state=$(cat "$root/home/clerk/state" 2>/dev/null || echo "no state")
logs="$root/home/clerk/.local/share/cn.onewindow.workstation/logs"
log=$(cat "$logs"/onewindow.*.log 2>/dev/null || true)
fail() {
  say "FAILED: $*"
  echo "--- app output"; cat "$root/home/clerk/app.out" || true
  echo "--- app log"; echo "$log"
  exit 1
}
[ "$state" = "running" ] || fail "the app did not stay running ($state)"
grep -q "OneWindow started" <<<"$log" || fail "no start in the log"
grep -q "syncing with the back offices" <<<"$log" || fail "the store or the bundled catalogue/standards did not open"
grep -q "NotConfigured" <<<"$log" || fail "a back office is in use although none is configured"
! grep -qi "panic" <<<"$log" || fail "a panic in the log"
test -f "$root/home/clerk/.local/share/cn.onewindow.workstation/cases/cases.db" || fail "no case store"
say "installed on Debian 12, started with defaults: store opened, bundled catalogue and standards loaded, no back office"
