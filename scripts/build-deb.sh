#!/usr/bin/env bash
# Build dist/claim-appliance_<version>_<arch>.deb (make deb).
#
# The package carries the application and its pinned runtime dependencies as
# wheels (postinst builds /opt/appliance/venv offline from them), the face
# models (SHA-256 verified by `appliance models fetch` here and again by
# postinst), the systemd units, udev rules, sysusers and tmpfiles entries.
# Wheels come from the package registry at build time, never at install time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
OUT=${OUT:-$ROOT/dist}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

VERSION=$("$PY" -c 'import appliance; print(appliance.__version__)')
ARCH=$(dpkg --print-architecture)
PKG=$WORK/pkg
APP=$PKG/opt/appliance

mkdir -p "$APP/wheels" "$APP/models" "$PKG/DEBIAN" \
    "$PKG/lib/systemd/system" "$PKG/usr/lib/sysusers.d" "$PKG/usr/lib/tmpfiles.d" \
    "$PKG/lib/udev/rules.d" "$PKG/usr/share/doc/claim-appliance"

echo "wheels for $VERSION ($ARCH)..."
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$APP/wheels" "$ROOT"
"$PY" -m pip wheel --quiet --wheel-dir "$APP/wheels" -c "$ROOT/constraints.txt" "$ROOT"
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
    "$ROOT/packaging/debian/control.in" > "$PKG/DEBIAN/control"
install -m 0755 "$ROOT"/packaging/debian/{postinst,prerm,postrm} "$PKG/DEBIAN/"

mkdir -p "$OUT"
DEB=$OUT/claim-appliance_${VERSION}_${ARCH}.deb
# Wheels are already compressed: a fast gzip level keeps the build quick.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
