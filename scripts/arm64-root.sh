#!/usr/bin/env bash
# Debian 13 (trixie) arm64 root trees run under qemu-user (binfmt_misc), for the arm64
# package. Trixie, not 12: the only aarch64 NFIQ 2 wheel on PyPI (nbis-python 0.1.21)
# needs glibc >= 2.38 although it is tagged manylinux_2_28; Debian 12 has 2.36.
#
#   arm64-root.sh builder   prints the path of the wheel-building root (python3-dev, gcc,
#                           a venv with pip at /opt/builder), creating it on first use
#   arm64-root.sh runtime   prints the path of a fresh minimal root (what a Pi gets from
#                           Debian before our package): recreated on every call
#   arm64-root.sh binfmt    registers the emulator only (see qemu_static below)
#
# Downloaded .debs are cached in build/cache/apt-arm64 between runs. mmdebstrap's own
# emulation check needs arch-test (not in Debian 12): binfmt() below checks instead.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${ARM64_ROOTS:-$ROOT/build/arm64}
CACHE=$ROOT/build/cache/apt-arm64
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${ARM64_SUITE:-trixie}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 1767225600)}

log() { printf '[arm64-root %s] %s\n' "$(date +%T)" "$*" >&2; }

# Debian 12's qemu-user (7.2) crashes inside mediapipe (its tcmalloc's rseq use: SIGSEGV
# creating any vision task); Debian 13's (10.0) runs it. Its qemu-user package is statically
# linked, so its qemu-aarch64 runs on a Debian 12 host: fetched with apt-get download from
# trixie (signed Release -> Packages -> SHA-256 of the .deb), cached, registered with F.
QEMU_SUITE=${ARM64_QEMU_SUITE:-trixie}
qemu_static() {
    local dir=$ROOT/build/cache/qemu-user-$QEMU_SUITE
    local bin=$dir/root/usr/bin/qemu-aarch64
    if [ ! -x "$bin" ]; then
        mkdir -p "$dir/lists/partial" "$dir/archives/partial"
        printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
            "$MIRROR" "$QEMU_SUITE" >"$dir/sources.list"
        local opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=-
            -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::archives=$dir/archives"
            -o APT::Architecture=amd64 -o Debug::NoLocking=1)
        log "qemu-user from $QEMU_SUITE (static) -> $dir"
        apt-get "${opts[@]}" update -qq >&2
        (cd "$dir" && rm -f qemu-user_*.deb && apt-get "${opts[@]}" download qemu-user >&2)
        rm -rf "$dir/root" && dpkg-deb -x "$dir"/qemu-user_*.deb "$dir/root"
    fi
    [ -x "$bin" ] || { echo "arm64-root: no qemu-aarch64 in $QEMU_SUITE's qemu-user" >&2; exit 2; }
    echo "$bin"
}

binfmt() {
    [ "$(uname -m)" = aarch64 ] && return
    if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    local qemu entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
    qemu=$(qemu_static)
    if ! grep -qx "interpreter $qemu" "$entry" 2>/dev/null; then
        [ ! -e "$entry" ] || echo -1 >"$entry"
        # the ELF header of an aarch64 executable (as Debian's qemu-user-binfmt registers it)
        printf ':qemu-aarch64:M::%s:%s:%s:FP' \
            '\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00' \
            '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' \
            "$qemu" >/proc/sys/fs/binfmt_misc/register
    fi
    grep -qx "interpreter $qemu" "$entry" || { echo "arm64-root: qemu-aarch64 binfmt not registered" >&2; exit 2; }
}

strap() { # $1 target, $2 packages (comma separated)
    mkdir -p "$CACHE" "$(dirname "$1")"
    log "mmdebstrap $SUITE arm64 -> $1"
    nice mmdebstrap --variant=apt --architectures=arm64 --mode=root --format=directory \
        --aptopt='APT::Install-Recommends "false"' --include="$2" \
        --skip=essential/unlink --skip=check/qemu \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
        --setup-hook="sync-in '$CACHE' /var/cache/apt/archives/" \
        --customize-hook="sync-out /var/cache/apt/archives '$CACHE'" \
        "$SUITE" "$1" "$MIRROR" >&2
}

pip_env() { # $1 root: the host's pip index/CA settings, for pip inside the root
    local var
    for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT; do
        [ -z "${!var:-}" ] || printf '%s=%s ' "$var" "${!var}"
    done
    if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
        cp "$PIP_CERT" "$1/etc/pip-host-ca.pem"
        printf 'PIP_CERT=/etc/pip-host-ca.pem '
    fi
}
if [ "${1:-}" = pip-env ]; then pip_env "$2"; exit 0; fi

[ "$(id -u)" -eq 0 ] || { echo "arm64-root: needs root (mmdebstrap root mode, chroot)" >&2; exit 2; }
binfmt
case "${1:-}" in
builder)
    dir=$BASE/builder
    # pyscard (sdist only) builds against pcsc-lite's headers; wsq needs only the compiler.
    packages=python3,python3-venv,python3-dev,build-essential,pkg-config,libpcsclite-dev,ca-certificates
    if [ ! -x "$dir/opt/builder/bin/python" ]; then
        rm -rf "$dir"
        strap "$dir" "$packages"
        log "venv with pip in the builder (under emulation)"
        chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root python3 -m venv /opt/builder
        chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root $(pip_env "$dir") \
            /opt/builder/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip wheel
    fi
    # A builder from an earlier list gets the packages added since (apt under emulation).
    missing=$(for p in ${packages//,/ }; do
        chroot "$dir" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done)
    if [ -n "$missing" ]; then
        log "adding to the builder: $(echo $missing)"
        # shellcheck disable=SC2086 # one word per package
        chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
            sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' sh $missing >&2
    fi
    echo "$dir"
    ;;
runtime)
    dir=$BASE/runtime
    rm -rf "$dir"
    strap "$dir" python3,python3-venv,libusb-1.0-0,systemd,ca-certificates
    echo "$dir"
    ;;
binfmt) ;; # only the emulator's registration (done above)
*)
    echo "usage: arm64-root.sh builder|runtime|binfmt" >&2
    exit 2
    ;;
esac
