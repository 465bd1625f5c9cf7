#!/usr/bin/env bash
# Build dist/claim-appliance_<version>_<arch>.deb (make deb).
#
# The package carries the application and its pinned runtime dependencies as
# wheels (postinst builds /opt/appliance/venv offline from them), the face
# models (SHA-256 verified by `appliance models fetch` here and again by
# postinst), the systemd units, udev rules, sysusers and tmpfiles entries.
# Wheels come from the package registry at build time, never at install time.
#
# ARCH=arm64 (on an amd64 host) resolves and builds the wheels inside an arm64
# Debian 13 root under qemu-user (scripts/arm64-root.sh): pip there picks the
# aarch64 wheels and builds the sdist-only ones (wsq) natively for aarch64. The
# package then depends on that root's Python minor version (its wheels are cp3XX).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
# Same commit, same bytes (wheel and tar timestamps): the image build reuses its root
# tree while the package is unchanged.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 1767225600)}
OUT=${OUT:-$ROOT/dist}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

VERSION=$("$PY" -c 'import appliance; print(appliance.__version__)')
HOST_ARCH=$(dpkg --print-architecture)
ARCH=${ARCH:-$HOST_ARCH}
PYTHON_DEPENDS="python3 (>= 3.11)"
PKG=$WORK/pkg
APP=$PKG/opt/appliance

mkdir -p "$APP/wheels" "$APP/models" "$PKG/DEBIAN" \
    "$PKG/lib/systemd/system" "$PKG/usr/lib/sysusers.d" "$PKG/usr/lib/tmpfiles.d" \
    "$PKG/lib/udev/rules.d" "$PKG/usr/share/doc/claim-appliance"

echo "wheels for $VERSION ($ARCH)..."
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$APP/wheels" "$ROOT"
if [ "$ARCH" = "$HOST_ARCH" ]; then
    "$PY" -m pip wheel --quiet --wheel-dir "$APP/wheels" -c "$ROOT/constraints.txt" "$ROOT"
else
    [ "$ARCH" = arm64 ] || { echo "build-deb: ARCH=$ARCH: only arm64 is built cross" >&2; exit 2; }
    BUILDER=$(bash "$ROOT/scripts/arm64-root.sh" builder)
    rm -rf "$BUILDER/tmp/deb-wheels" && mkdir -p "$BUILDER/tmp/deb-wheels"
    OURS=$(basename "$APP"/wheels/claim_kiosk_appliance-*.whl)
    cp "$APP/wheels/$OURS" "$ROOT/constraints.txt" "$BUILDER/tmp/deb-wheels/"
    # Wheels built here from sdists (wsq, pyscard) take many minutes under emulation:
    # kept in build/cache/wheels-arm64 and offered again (--find-links) on the next build.
    SDIST_WHEELS=${CACHE:-$ROOT/build/cache}/wheels-arm64
    mkdir -p "$SDIST_WHEELS"
    mkdir -p "$BUILDER/tmp/deb-wheels/cached"
    cp "$SDIST_WHEELS"/*.whl "$BUILDER/tmp/deb-wheels/cached/" 2>/dev/null || true
    # pip under qemu-aarch64: aarch64 wheels from the registry, sdist-only ones built here.
    # wsq's setup.py passes the x86-only -m64 to the compiler: its sdist is built with
    # that one flag removed (the sources are portable; -D__NBISLE__ holds on aarch64).
    WSQ=$(sed -n 's/^wsq==//p' "$ROOT/constraints.txt")
    # shellcheck disable=SC2046 # word splitting of the VAR=value list is wanted
    chroot "$BUILDER" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        $(bash "$ROOT/scripts/arm64-root.sh" pip-env "$BUILDER") \
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CACHE_DIR=/var/cache/pip sh -euc '
        cd /tmp/deb-wheels
        if ! ls "cached/wsq-$1-"*.whl >/dev/null 2>&1; then
            /opt/builder/bin/python -m pip download --quiet --no-deps --no-binary :all: "wsq==$1" -d sdist
            tar -xzf "sdist/wsq-$1.tar.gz" -C sdist
            sed -i "s/ -m64//" "sdist/wsq-$1/setup.py"
            /opt/builder/bin/python -m pip wheel --quiet --no-deps --wheel-dir cached "sdist/wsq-$1"
            rm -rf sdist
        fi
        /opt/builder/bin/python -m pip wheel --quiet --wheel-dir . --find-links . --find-links cached \
            -c constraints.txt "$2"' sh "$WSQ" "$OURS"
    rm "$BUILDER/tmp/deb-wheels/constraints.txt" "$BUILDER/tmp/deb-wheels/$OURS"
    cp "$BUILDER"/tmp/deb-wheels/*-linux_aarch64.whl "$SDIST_WHEELS/" 2>/dev/null || true
    rm -rf "$BUILDER/tmp/deb-wheels/cached"
    mv "$BUILDER"/tmp/deb-wheels/*.whl "$APP/wheels/"
    if ls "$APP"/wheels/*x86_64*.whl >/dev/null 2>&1; then
        echo "build-deb: an x86_64 wheel ended up in the arm64 package" >&2
        exit 1
    fi
    PYMINOR=$(chroot "$BUILDER" python3 -c 'import sys; print(sys.version_info[1])')
    PYTHON_DEPENDS="python3 (>= 3.$PYMINOR), python3 (<< 3.$((PYMINOR + 1)))"
fi
cp "$ROOT/constraints.txt" "$APP/constraints.txt"

echo "models..."
"$PY" -m appliance models fetch --dir "$APP/models" >/dev/null

cp "$ROOT"/systemd/*.service "$PKG/lib/systemd/system/"
cp "$ROOT/systemd/sysusers.d/appliance.conf" "$PKG/usr/lib/sysusers.d/"
cp "$ROOT/systemd/tmpfiles.d/appliance.conf" "$PKG/usr/lib/tmpfiles.d/"
install -D -m 0644 "$ROOT/systemd/journald.conf.d/appliance.conf" \
    "$PKG/usr/lib/systemd/journald.conf.d/appliance.conf"
"$PY" -m appliance udev-rules --allowlist "$ROOT/firmware_config/approved_devices.yaml" \
    > "$PKG/lib/udev/rules.d/70-appliance-devices.rules"
cp "$ROOT/config/production.example.yaml" "$ROOT/README.md" "$PKG/usr/share/doc/claim-appliance/"

SIZE=$(du -sk "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
    -e "s/@PYTHON_DEPENDS@/$PYTHON_DEPENDS/" \
    "$ROOT/packaging/debian/control.in" > "$PKG/DEBIAN/control"
install -m 0755 "$ROOT"/packaging/debian/{postinst,prerm,postrm} "$PKG/DEBIAN/"

mkdir -p "$OUT"
DEB=$OUT/claim-appliance_${VERSION}_${ARCH}.deb
# Wheels are already compressed: a fast gzip level keeps the build quick.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
