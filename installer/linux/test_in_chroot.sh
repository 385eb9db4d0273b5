#!/bin/bash
# Install the .deb into a clean Debian and use it as a microscopist would (issue 12's "Must show").
#
#   sudo installer/linux/test_in_chroot.sh BASE DEB TARGZ DATA OUT
#
# BASE   a clean Debian root, e.g. `debootstrap --variant=minbase bookworm BASE` (copied, never changed)
# DEB    build/installer/emdenoise_<version>_<arch>.deb;  TARGZ  the matching tar.gz
# DATA   a folder with a FIB-SEM TIFF and an MRC stack (../shared/data); OUT  where logs and pictures go
#
# In a copy of BASE: `apt install ./DEB` (pulling its dependencies from the Debian mirror), then as an
# ordinary user in their home folder (outside any repository): `emdenoise --smoke-test`,
# `emdenoise-gui --smoke-test` (offscreen), `emdenoise doctor`, `emdenoise denoise` on a TIFF and an MRC,
# and the app started from its .desktop entry's Exec line on an Xvfb display (Qt's real xcb platform,
# so a missing xcb library shows), screenshotted with xwd; then `apt remove` must leave /opt empty and
# the user's data in place; last, the tar.gz unpacked in a temporary folder passes the same smoke tests.
# Needs root (chroot, mounts), Xvfb, xwd, xwininfo and netpbm on the host (openbox if present). Exit status 0 only if every step passed.
set -euo pipefail
BASE=$(realpath "$1"); DEB=$(realpath "$2"); TARGZ=$(realpath "$3"); DATA=$(realpath "$4"); OUT=$(realpath -m "$5")
TIFF=${TIFF:-fibsem_flyem_medulla_val_z000-127_128x520x520.tif}  # names inside DATA
MRC=${MRC:-mrc/aspire_sample_particles_17x200x200.mrcs}
DISPLAY_NUMBER=${DISPLAY_NUMBER:-97}
mkdir -p "$OUT" && chmod 1777 "$OUT"  # the test user writes pictures there
ROOT=$(mktemp -d /tmp/emdenoise-chroot-XXXX)
XVFB_PID=

cleanup() {
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
    for m in tmp/.X11-unix data pkg out dev/pts dev sys proc; do umount -l "$ROOT/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT
step() { echo; echo "=== $* ($(date +%T))"; }
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
as_user() { chroot --userspec=microscopist:microscopist "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin \
    HOME=/home/microscopist LANG=C.UTF-8 bash -c "cd /home/microscopist && $1"; }

step "clean Debian root: copy of $BASE"
cp -a "$BASE/." "$ROOT/"
for m in proc sys dev dev/pts; do mount --bind "/$m" "$ROOT/$m"; done
mkdir -p "$ROOT/data" "$ROOT/pkg" "$ROOT/out" "$ROOT/tmp/.X11-unix"
mount --bind -o ro "$DATA" "$ROOT/data"
mount --bind "$(dirname "$DEB")" "$ROOT/pkg"
mount --bind "$OUT" "$ROOT/out"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
in_root useradd -m -s /bin/bash microscopist
chmod 1777 "$ROOT/tmp"

step "apt install ./$(basename "$DEB")"
in_root apt-get update -q >/dev/null
in_root bash -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /pkg/$(basename "$DEB")" \
    | tee "$OUT/apt-install.log" | grep -E "^(The following NEW|Setting up emdenoise|[0-9]+ upgraded)" || true
grep -A40 "The following NEW packages" "$OUT/apt-install.log" | sed -n '2,/^[0-9]/p' | head -30 || true
in_root dpkg -s emdenoise | grep -E "^(Status|Version|Installed-Size)"

step "emdenoise --smoke-test (from the user's home folder)"
as_user "emdenoise --smoke-test"
step "emdenoise-gui --smoke-test (offscreen)"
as_user "QT_QPA_PLATFORM=offscreen emdenoise-gui --smoke-test --smoke-test-screenshot /out/gui-smoke-window.png"
step "emdenoise doctor"
as_user "emdenoise doctor"
step "emdenoise denoise: a FIB-SEM TIFF and an MRC stack"
as_user "emdenoise denoise /data/$TIFF --slices 0:4 -o fibsem_denoised.tif --model flyem-nrrn-base && \
    emdenoise info fibsem_denoised.tif && \
    emdenoise denoise /data/$MRC -o particles_denoised.mrc --method gaussian-sure && \
    emdenoise denoise /data/$MRC --slices 0:4 -o particles_nrrn.mrc --model flyem-nrrn-lite && \
    emdenoise info particles_nrrn.mrc"

step "the app from its .desktop entry on Xvfb :$DISPLAY_NUMBER (Qt xcb platform)"
EXEC=$(grep '^Exec=' "$ROOT/usr/share/applications/emdenoise.desktop" | cut -d= -f2-)
Xvfb ":$DISPLAY_NUMBER" -screen 0 1600x1000x24 -nolisten tcp &
XVFB_PID=$!
sleep 2
command -v openbox >/dev/null && DISPLAY=":$DISPLAY_NUMBER" openbox >/dev/null 2>&1 &  # a desktop's window manager
mount --bind /tmp/.X11-unix "$ROOT/tmp/.X11-unix"
snap() { xwd -display ":$DISPLAY_NUMBER" "$@" | xwdtopnm 2>/dev/null | pnmtopng; }
# launch COMMAND as the user, wait, picture the screen to PICTURE.png; the app must still be running
launch() {
    echo "Exec line: $EXEC  ->  $1"
    as_user "DISPLAY=:$DISPLAY_NUMBER $1 > /out/$2.log 2>&1 & echo \$! > /tmp/app.pid"
    sleep "${APP_WAIT:-25}"
    snap -root > "$OUT/$2.png"
    APP_PID=$(cat "$ROOT/tmp/app.pid")
    kill -0 "$APP_PID" 2>/dev/null || { echo "FAILED: the app exited early:"; cat "$OUT/$2.log"; exit 1; }
    echo "picture: $OUT/$2.png"
}
# SIGTERM (what a desktop's logout sends) must end the app within 10 s
stop_app() {
    local pid; pid=$(cat "$ROOT/tmp/app.pid")
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || { echo "the app quit on SIGTERM"; return 0; }; sleep 0.5; done
    echo "FAILED: the app did not quit within 10 s of SIGTERM"; ps -o pid,stat,cmd -p "$pid"; kill -9 "$pid"; exit 1
}
launch "${EXEC// %F/}" desktop-entry-xvfb  # from the applications menu: no file
stop_app
launch "${EXEC//%F//data/$TIFF}" desktop-open-with-xvfb  # "Open with EMDenoise" on a stack
# the stack reached the app: it asks where to keep the project (xwd -root shows Qt's dialogs black
# under Xvfb, so the dialog is pictured by its own window)
DIALOG=$(xwininfo -root -tree -display ":$DISPLAY_NUMBER" | grep '"No project open"' | awk '{print $1}' | head -1)
[ -n "$DIALOG" ] || { echo "FAILED: the opened stack did not reach the app (no project question)"; exit 1; }
snap -id "$DIALOG" > "$OUT/desktop-open-with-question.png"
echo "picture: $OUT/desktop-open-with-question.png"
stop_app

step "apt remove emdenoise"
as_user "mkdir -p .local/share/EMDenoise/models/my-model && echo kept > .local/share/EMDenoise/models/my-model/card.json"
in_root bash -c "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q -o Dpkg::Use-Pty=0 emdenoise" | tail -1
LEFT=$({ find "$ROOT/opt" -mindepth 1 2>/dev/null || true; } | wc -l)  # /opt itself may go too
[ "$LEFT" -eq 0 ] || { echo "FAILED: $LEFT files left in /opt"; find "$ROOT/opt" | head; exit 1; }
for f in usr/bin/emdenoise usr/bin/emdenoise-gui usr/share/applications/emdenoise.desktop; do
    [ ! -e "$ROOT/$f" ] || { echo "FAILED: /$f left behind"; exit 1; }
done
ls "$ROOT/home/microscopist/fibsem_denoised.tif" "$ROOT/home/microscopist/.local/share/EMDenoise/models/my-model/card.json" >/dev/null
echo "/opt is empty; the user's results and data folder are still there"

step "the tar.gz unpacked in a temporary folder"
cp "$TARGZ" "$ROOT/tmp/"
as_user "T=\$(mktemp -d) && tar -xzf /tmp/$(basename "$TARGZ") -C \$T && cd \$T/emdenoise-* && \
    ./emdenoise --smoke-test && \
    QT_QPA_PLATFORM=offscreen ./emdenoise-gui --smoke-test && \
    ./emdenoise denoise /data/$TIFF --slices 0:2 -o \$T/fibsem.tif --model flyem-nrrn-base && \
    ./emdenoise denoise /data/$MRC --slices 0:2 -o \$T/particles.mrc --model flyem-nrrn-lite"

step "all steps passed"
