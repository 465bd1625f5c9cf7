#!/usr/bin/env bash
# Build the x86-64 kiosk image from Debian packages and our .deb (make image).
#
#   build-image.sh [all]            root tree + slot + disk image + RAUC bundle of $VERSION
#   build-image.sh bundle V [broken]  only the slot and signed RAUC bundle of version V
#                                     from the cached root tree ("broken": a release
#                                     whose appliance cannot start, for the rollback test)
#
# Environment: PROFILE=production|test (test bakes the demo profile and the QEMU
# guest agent in), VERSION (image version; default: the appliance version),
# SOURCE_DATE_EPOCH (default: the last commit's time), MIRROR (Debian mirror),
# RAUC_CERT/RAUC_KEY/RAUC_KEYRING (bundle signing; the test profile makes a
# throw-away CA under build/keys when they are unset, production stops without them),
# OUT (default build/image/<profile>), CACHE (default build/cache).
#
# Steps: mmdebstrap (downloaded .debs cached in $CACHE/apt) -> root tree, reused while
# its inputs are unchanged -> squashfs slot image (fixed timestamps) -> ESP (GRUB,
# grub.cfg, grubenv) + empty data ext4 -> GPT disk (sfdisk, fixed GUIDs) -> manifest.
# No loop devices, mounts or network beyond the Debian mirror.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${PROFILE:-production}
OUT=${OUT:-$ROOT/build/image/$PROFILE}
CACHE=${CACHE:-$ROOT/build/cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
ESP_MIB=64
SLOT_MIB=2048
DATA_MIB=3072
COMPATIBLE=claim-kiosk-x86
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 1767225600)}
APP_VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/appliance/__init__.py")
VERSION=${VERSION:-$APP_VERSION}
DEB=${DEB:-$ROOT/dist/claim-appliance_${APP_VERSION}_amd64.deb}
TREE=$OUT/rootfs

case "$PROFILE" in production | test) ;; *) echo "PROFILE must be production or test" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "build-image: needs root (mmdebstrap root mode, chroot)" >&2; exit 2; }
for tool in mmdebstrap mksquashfs mkfs.fat mcopy mmd mkfs.ext4 sfdisk rauc openssl; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (make system-deps)" >&2; exit 2; }
done
mkdir -p "$OUT" "$CACHE/apt"

log() { printf '[build-image %s] %s\n' "$(date +%T)" "$*" >&2; }

packages() { sed -e 's/#.*//' -e '/^\s*$/d' "$@" | paste -sd, -; }

# --- root tree ---------------------------------------------------------------
tree_key() {
    {
        echo "$PROFILE $SUITE $MIRROR $SOURCE_DATE_EPOCH"
        sha256sum "$DEB" | cut -d' ' -f1
        find "$ROOT/image/common" "$ROOT/image/x86" "$ROOT/image/test" -type f -print0 |
            sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1
}

build_tree() {
    [ -f "$DEB" ] || { echo "build-image: $DEB is missing (make deb)" >&2; exit 2; }
    local key
    key=$(tree_key)
    if [ -f "$TREE/.claim-tree-key" ] && [ "$(cat "$TREE/.claim-tree-key")" = "$key" ]; then
        log "root tree up to date ($TREE)"
        return
    fi
    local lists=("$ROOT/image/x86/packages.txt")
    if [ "$PROFILE" = test ]; then
        lists+=("$ROOT/image/test/packages.txt")
    else
        lists+=("$ROOT/image/x86/packages-kiosk.txt")
    fi
    rm -rf "$TREE"
    log "mmdebstrap $SUITE ($PROFILE) -> $TREE"
    REPO=$ROOT DEB=$DEB PROFILE=$PROFILE nice mmdebstrap \
        --variant=apt --architectures=amd64 --mode=root --format=directory \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/claim-appliance/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include="$(packages "${lists[@]}")" \
        --skip=essential/unlink \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
        --setup-hook="sync-in '$CACHE/apt' /var/cache/apt/archives/" \
        --customize-hook="sync-out /var/cache/apt/archives '$CACHE/apt'" \
        --customize-hook="'$ROOT/image/x86/customize.sh' \"\$1\"" \
        "$SUITE" "$TREE" "$MIRROR"
    echo "$key" > "$TREE/.claim-tree-key"
}

manifest() { # $1 output file
    {
        echo "# claim-kiosk $VERSION ($PROFILE), SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, $SUITE from $MIRROR"
        echo "# claim-appliance .deb sha256 $(sha256sum "$DEB" | cut -d' ' -f1)"
        echo "## Debian packages (dpkg)"
        dpkg-query --admindir="$TREE/var/lib/dpkg" -W -f '${Package}=${Version} ${Architecture}\n' | sort
        echo "## Python packages (/opt/appliance/venv)"
        chroot "$TREE" /opt/appliance/venv/bin/python -m pip list --format=freeze --disable-pip-version-check 2>/dev/null | sort
    } > "$1"
}

# --- slot image ----------------------------------------------------------------
build_slot() { # $1 version, $2 "broken" or empty -> $OUT/claim-kiosk_$1.rootfs.img
    local version=$1 broken=${2:-} img=$OUT/claim-kiosk_$1.rootfs.img
    local osr=$TREE/usr/lib/os-release grpc
    grpc=$(echo "$TREE"/opt/appliance/venv/lib/python3*/site-packages/grpc)
    cp "$osr" "$OUT/.os-release.orig"
    # Versions differ only in these edits of the shared tree; restored below and on exit.
    RESTORE="cp '$OUT/.os-release.orig' '$osr'; [ ! -d '$OUT/.grpc-aside' ] || mv '$OUT/.grpc-aside' '$grpc'"
    trap 'eval "$RESTORE"' EXIT
    grep -v '^IMAGE_\(ID\|VERSION\)=' "$OUT/.os-release.orig" > "$osr"
    printf 'IMAGE_ID=claim-kiosk\nIMAGE_VERSION=%s\n' "$version" >> "$osr"
    if [ "$broken" = broken ]; then
        # A release whose appliance cannot start (a dependency missing from the venv):
        # `appliance run` exits at import, so READY never comes.
        mv "$grpc" "$OUT/.grpc-aside"
    fi
    log "squashfs slot image $version${broken:+ (broken)}"
    rm -f "$img"
    # mksquashfs takes every timestamp from SOURCE_DATE_EPOCH (exported above). gzip:
    # GRUB 2.06 reads the kernel from this filesystem and knows no zstd in squashfs.
    nice mksquashfs "$TREE" "$img" -noappend -quiet -no-progress -comp gzip -Xcompression-level 6 \
        -b 256K \
        -e .claim-tree-key >/dev/null
    eval "$RESTORE"
    trap - EXIT
    local size
    size=$(stat -c %s "$img")
    if [ "$size" -gt $((SLOT_MIB * 1024 * 1024)) ]; then
        echo "build-image: slot image $size bytes exceeds the ${SLOT_MIB} MiB slot" >&2
        exit 1
    fi
}

signing_keys() {
    if [ -n "${RAUC_CERT:-}" ] && [ -n "${RAUC_KEY:-}" ] && [ -n "${RAUC_KEYRING:-}" ]; then
        return
    fi
    if [ "$PROFILE" != test ]; then
        echo "build-image: RAUC_CERT, RAUC_KEY and RAUC_KEYRING (bundle signing) are not set" >&2
        exit 2
    fi
    local dir=$ROOT/build/keys
    if [ ! -s "$dir/signing.key" ]; then
        log "throw-away test signing CA in $dir (test profile only)"
        mkdir -p "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/CN=claim-kiosk test update CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=claim-kiosk test bundle signer" -keyout "$dir/signing.key" \
            -out "$dir/signing.csr" 2>/dev/null
        openssl x509 -req -in "$dir/signing.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
            -CAcreateserial -days 3650 -out "$dir/signing.pem" \
            -extfile <(printf 'keyUsage=critical,digitalSignature\n') 2>/dev/null
    fi
    RAUC_CERT=$dir/signing.pem RAUC_KEY=$dir/signing.key RAUC_KEYRING=$dir/ca.pem
}

build_bundle() { # $1 version -> $OUT/claim-kiosk_$1.raucb
    local version=$1 dir=$OUT/bundle-$1 bundle=$OUT/claim-kiosk_$1.raucb
    rm -rf "$dir" "$bundle"
    mkdir -p "$dir"
    ln "$OUT/claim-kiosk_$version.rootfs.img" "$dir/rootfs.img"
    cat > "$dir/manifest.raucm" <<EOF
[update]
compatible=$COMPATIBLE
version=$version
build=$SOURCE_DATE_EPOCH

[bundle]
format=verity

[image.rootfs]
filename=rootfs.img
EOF
    touch -d "@$SOURCE_DATE_EPOCH" "$dir"/*
    log "RAUC bundle $version"
    # The slot image is compressed already: the bundle's squashfs only stores it.
    nice rauc bundle --cert="$RAUC_CERT" --key="$RAUC_KEY" --signing-keyring="$RAUC_KEYRING" \
        --mksquashfs-args="-noI -noD -noF -noX" \
        "$dir" "$bundle" >/dev/null
    rauc info --keyring="$RAUC_KEYRING" "$bundle" >/dev/null
    rm -rf "$dir"
}

# --- disk image ------------------------------------------------------------------
build_esp() { # $1 output file
    local esp=$1 stage=$OUT/esp
    rm -rf "$stage" "$esp"
    mkdir -p "$stage/EFI/BOOT"
    cp "$TREE/usr/lib/claim-kiosk/BOOTX64.EFI" "$ROOT/image/x86/grub.cfg" "$stage/EFI/BOOT/"
    # Factory state: slot A is the primary and good; B is empty.
    chroot "$TREE" grub-editenv /tmp/grubenv create
    chroot "$TREE" grub-editenv /tmp/grubenv set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
    mv "$TREE/tmp/grubenv" "$stage/EFI/BOOT/grubenv"
    find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    mkfs.fat -C -F 32 -n ESP -i 0c1a1d00 --invariant "$esp" $((ESP_MIB * 1024)) >/dev/null
    MTOOLS_SKIP_CHECK=1 mmd -i "$esp" ::/EFI ::/EFI/BOOT
    MTOOLS_SKIP_CHECK=1 mcopy -m -i "$esp" "$stage"/EFI/BOOT/* ::/EFI/BOOT/
    rm -rf "$stage"
}

build_data() { # $1 output file: an empty ext4; appliance-data-setup lays it out on first boot
    rm -f "$1"
    E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -L data -U 5e0c1a1d-0000-4000-8000-00000000da7a \
        -E hash_seed=5e0c1a1d-0000-4000-8000-0000000005ed,root_owner=0:0 \
        -O ^metadata_csum_seed "$1" $((DATA_MIB * 1024))k
}

build_disk() { # $1 version -> $OUT/claim-kiosk_$1.img
    local version=$1 disk=$OUT/claim-kiosk_$1.img
    build_esp "$OUT/esp.img"
    build_data "$OUT/data.img"
    local mib=$((1 + ESP_MIB + 2 * SLOT_MIB + DATA_MIB + 1))
    rm -f "$disk"
    truncate -s "${mib}M" "$disk"
    local s=2048 mb=2048 # sectors per MiB
    sfdisk --quiet --no-reread --no-tell-kernel "$disk" <<EOF
label: gpt
label-id: 5E0C1A1D-4B5F-4A3E-9D0B-6F2C8D1E7A90
unit: sectors
first-lba: 2048

start=$s, size=$((ESP_MIB * mb)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=5E0C1A1D-0001-4000-8000-000000000001, name="esp"
start=$((s + ESP_MIB * mb)), size=$((SLOT_MIB * mb)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5E0C1A1D-0002-4000-8000-000000000002, name="root-a"
start=$((s + (ESP_MIB + SLOT_MIB) * mb)), size=$((SLOT_MIB * mb)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5E0C1A1D-0003-4000-8000-000000000003, name="root-b"
start=$((s + (ESP_MIB + 2 * SLOT_MIB) * mb)), size=$((DATA_MIB * mb)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5E0C1A1D-0004-4000-8000-000000000004, name="data"
EOF
    dd if="$OUT/esp.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
    dd if="$OUT/claim-kiosk_$version.rootfs.img" of="$disk" bs=1M seek=$((1 + ESP_MIB)) \
        conv=notrunc,sparse status=none
    dd if="$OUT/data.img" of="$disk" bs=1M seek=$((1 + ESP_MIB + 2 * SLOT_MIB)) \
        conv=notrunc,sparse status=none
    rm -f "$OUT/esp.img" "$OUT/data.img"
}

report() { # files...
    local f
    for f in "$@"; do
        printf '%s  %s bytes (%s MiB allocated)  sha256 %s\n' "$f" "$(stat -c %s "$f")" \
            "$(($(du -k "$f" | cut -f1) / 1024))" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
}

started=$(date +%s)
case "${1:-all}" in
all)
    build_tree
    signing_keys
    install -D -m 0644 "$RAUC_KEYRING" "$TREE/etc/rauc/keyring.pem"
    build_slot "$VERSION"
    build_bundle "$VERSION"
    build_disk "$VERSION"
    manifest "$OUT/claim-kiosk_$VERSION.manifest"
    report "$OUT/claim-kiosk_$VERSION.img" "$OUT/claim-kiosk_$VERSION.raucb"
    ;;
keys)
    signing_keys
    echo "$RAUC_CERT"
    ;;
bundle)
    [ -n "${2:-}" ] || { echo "usage: build-image.sh bundle VERSION [broken]" >&2; exit 2; }
    [ -f "$TREE/.claim-tree-key" ] || { echo "build-image: no root tree yet (run: build-image.sh all)" >&2; exit 2; }
    signing_keys
    build_slot "$2" "${3:-}"
    build_bundle "$2"
    report "$OUT/claim-kiosk_$2.raucb"
    ;;
*)
    echo "usage: build-image.sh [all | bundle VERSION [broken] | keys]" >&2
    exit 2
    ;;
esac
log "done in $(($(date +%s) - started)) s"
