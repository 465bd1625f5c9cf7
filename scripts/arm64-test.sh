#!/usr/bin/env bash
# make arm64-test: install the arm64 package into a fresh Debian 13 arm64 root and run
# the appliance there under qemu-user. Prints one JSON line per check and a summary.
#
# Checks: `appliance --version`, `config validate`, `photo-check` (all 28 ICAO checks on
# scikit-image's public astronaut portrait), `finger-check` on a synthetic print as PNG
# and as WSQ (NFIQ 2 + the WSQ codec), and `appliance demo --enrolments 3` (3 of 3
# delivered through seal -> outbox -> gRPC -> receipt).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
VERSION=$("$PY" -c 'import appliance; print(appliance.__version__)')
DEB=${DEB:-$ROOT/dist/claim-appliance_${VERSION}_arm64.deb}
[ -f "$DEB" ] || { echo "arm64-test: $DEB is missing (make deb ARCH=arm64)" >&2; exit 2; }

started=$(date +%s)
# PIP_NO_COMPILE: byte-compiling ~70 packages under qemu-user takes longer than the whole
# rest of the test; the interpreter writes the .pyc files on first import instead (a Pi
# installing natively compiles them in seconds).
#
# QEMU_CPU: the emulated CPU is a Raspberry Pi 5's Cortex-A76, not qemu's default "max".
# With "max" (SVE, SVE2, SME) onnxruntime picks its SVE kernels, which qemu emulates ~20x
# slower (the MRZ text detector: 35 s a run against 1.8 s), and a Pi has no SVE anyway.
# qemu-user reads it from each emulated process's environment, so it is in env -i's list.
QEMU_CPU=${ARM64_QEMU_CPU:-cortex-a76}
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 PIP_NO_COMPILE=1 QEMU_CPU="$QEMU_CPU" "$@"; }
if [ -n "${ARM64_TEST_REUSE:-}" ]; then
    # An arm64 root of an earlier run where the package is installed: the checks again,
    # without the half hour of installing under emulation.
    R=$ARM64_TEST_REUSE
    bash "$ROOT/scripts/arm64-root.sh" binfmt || exit 2
elif [ "${ARM64_TEST_ROOT:-fresh}" = builder ]; then
    # Quicker under emulation: the wheel builder's root (a superset of a runtime root).
    R=$(bash "$ROOT/scripts/arm64-root.sh" builder) || exit 2
else
    R=$(bash "$ROOT/scripts/arm64-root.sh" runtime) || exit 2
fi
# What a booted Pi has and the programs read: /proc and /sys (mediapipe's tcmalloc counts
# the CPUs there and aborts without them), /dev. Unmounted before the root becomes the
# Pi bundle's slot image, and on every exit.
unmount_host() {
    local fs
    for fs in dev sys proc; do
        ! mountpoint -q "$R/$fs" || umount -R "$R/$fs" 2>/dev/null || umount -lR "$R/$fs"
    done
}
trap unmount_host EXIT
for fs in proc sys dev; do
    mountpoint -q "$R/$fs" || mount --rbind "/$fs" "$R/$fs" || exit 2
    mount --make-rslave "$R/$fs"
done
# mmdebstrap leaves no package lists: apt needs them to resolve the package's Depends.
in_root apt-get update -qq >/dev/null || { echo "arm64-test: apt-get update failed in $R" >&2; exit 2; }
APP=/opt/appliance/venv/bin/appliance

# Inputs made on the host: a synthetic fingerprint (PNG and WSQ); never a real person's.
"$PY" - "$R/tmp" <<'PY'
import sys
from pathlib import Path

import cv2
import wsq  # noqa: F401  (registers the WSQ codec with Pillow)
from PIL import Image

from drivers.interfaces import FingerPosition
from drivers.sim.fingerprint_synth import synthesize_finger

out = Path(sys.argv[1])
finger = synthesize_finger(7, FingerPosition(2))
cv2.imwrite(str(out / "finger.png"), finger)
Image.fromarray(finger).save(out / "finger.wsq")
PY

failed=0
check() { # name, then the command; the last line of its output is judged by $JUDGE
    # (a judge is Python run by the host, maybe 3.11: no backslashes inside f-string expressions)
    local name=$1 t0 out rc verdict
    shift
    t0=$(date +%s%N)
    out=$("$@" 2>"$R/tmp/$name.err")
    rc=$?
    verdict=$(printf '%s' "$out" | "$PY" -c "$JUDGE" 2>/dev/null || echo "unparsable output")
    case " ${OK_EXIT:-0} " in  # exit codes that still mean "ran" (photo-check: 1 = not compliant)
    *" $rc "*) ;;
    *) verdict="exit $rc: $(tail -c 300 "$R/tmp/$name.err" | tr '\n"' ' .')" ;;
    esac
    local passed=true
    case "$verdict" in ok*) ;; *) passed=false; failed=$((failed + 1)) ;; esac
    printf '{"check": "%s", "passed": %s, "seconds": %d.%d, "detail": "%s"}\n' "$name" "$passed" \
        $((($(date +%s%N) - t0) / 1000000000)) $(((($(date +%s%N) - t0) / 100000000) % 10)) "$verdict"
}

cp "$DEB" "$R/tmp/"
JUDGE='import sys; d=sys.stdin.read(); print("ok" if d.strip() else "empty")'
[ -n "${ARM64_TEST_REUSE:-}" ] || check install in_root sh -c "apt-get install -y -q --no-install-recommends /tmp/$(basename "$DEB") >/dev/null && echo installed"
JUDGE='import sys; d=sys.stdin.read(); print("ok " + d.strip() if "'"$VERSION"'" in d else "wrong version: " + d)'
check version in_root $APP --version
JUDGE='import sys; d=sys.stdin.read(); print("ok" if "valid" in d else d)'
check config_validate in_root $APP config validate /usr/share/doc/claim-appliance/production.example.yaml
in_root /opt/appliance/venv/bin/python -c "import cv2; from skimage import data; cv2.imwrite('/tmp/astronaut.jpg', data.astronaut()[:, :, ::-1])"
JUDGE='import json, sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); n=len(d.get("checks", [])); print(f"ok {n} checks" if n == 28 else f"{n} checks: {d}")'
OK_EXIT="0 1" check photo_check in_root env APPLIANCE_MODELS_DIR=/opt/appliance/models $APP photo-check /tmp/astronaut.jpg --json
JUDGE='import json, sys; rows=[json.loads(x) for x in sys.stdin.read().split("\n") if x.strip()]; ok=len(rows)==2 and all(isinstance(r.get("nfiq2"), int) for r in rows); print(("ok " if ok else "") + " ".join("%s: NFIQ2 %s" % (r.get("file"), r.get("nfiq2")) for r in rows) + ("" if ok else " %s" % rows))'
check finger_check in_root $APP finger-check /tmp/finger.png /tmp/finger.wsq --json
JUDGE='import json, sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(("ok " if d["delivered"] == 3 else "") + "%s of %s delivered in %s s" % (d["delivered"], d["enrolments"], d["seconds"]))'
check demo in_root env APPLIANCE_MODELS_DIR=/opt/appliance/models $APP demo --enrolments 3 --json

# The Pi's update format: this root as the ext4 slot image of a signed RAUC bundle for
# image/rpi/system.conf (compatible=claim-kiosk-rpi), checked with `rauc info`.
pi_bundle() {
    unmount_host
    local dir=$ROOT/build/arm64/bundle keys=$ROOT/build/keys out=$ROOT/build/arm64/claim-kiosk-rpi_$VERSION.raucb
    [ -s "$keys/signing.key" ] || PROFILE=test bash "$ROOT/scripts/build-image.sh" keys >/dev/null
    rm -rf "$dir" "$out" && mkdir -p "$dir"
    # (mkfs.ext4 -q still prints "Creating regular file ..." on stdout: not the JSON judged)
    mkfs.ext4 -q -L root -d "$R" "$dir/rootfs.ext4" "$(( $(du -sk "$R" | cut -f1) * 12 / 10 + 65536 ))k" >/dev/null || return 1
    printf '[update]\ncompatible=%s\nversion=%s\n\n[bundle]\nformat=verity\n\n[image.rootfs]\nfilename=rootfs.ext4\n' \
        "$(sed -n 's/^compatible=//p' "$ROOT/image/rpi/system.conf")" "$VERSION" > "$dir/manifest.raucm"
    rauc bundle --cert="$keys/signing.pem" --key="$keys/signing.key" --signing-keyring="$keys/ca.pem" \
        --mksquashfs-args="-comp zstd" "$dir" "$out" >/dev/null 2>&1 || return 1
    rm -rf "$dir"
    rauc info --keyring="$keys/ca.pem" --output-format=json "$out" 2>/dev/null
}
JUDGE='import json, sys; d=json.loads(sys.stdin.read()); print(("ok " if d["compatible"] == "claim-kiosk-rpi" else "") + "%s %s images=%s" % (d["compatible"], d["version"], [sorted(i) for i in d["images"]]))'
check rauc_bundle pi_bundle

printf '{"arm64_test": "%s", "failed": %d, "seconds": %d, "root": "%s"}\n' \
    "$([ "$failed" -eq 0 ] && echo passed || echo failed)" "$failed" "$(($(date +%s) - started))" "$R"
[ "$failed" -eq 0 ]
