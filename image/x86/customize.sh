#!/usr/bin/env bash
# mmdebstrap customize hook for the x86-64 kiosk root (called by scripts/build-image.sh).
#   customize.sh ROOTDIR     with REPO (the checkout), DEB (our package), PROFILE
#                            (production|test) and SOURCE_DATE_EPOCH in the environment.
# Installs claim-appliance, the image units and RAUC, and makes the root fit to
# be mounted read-only: writable state on /data, /var a tmpfs (systemd.volatile=state).
set -euo pipefail
R=$1
: "${REPO:?}" "${DEB:?}" "${PROFILE:?}"
# A clean environment: nothing of the build host (e.g. PIP_*) leaks into the image.
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"; }

# Our package, installed like any other (its postinst builds the venv offline).
cp "$DEB" "$R/tmp/"
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$DEB")"
rm -f "$R/tmp/$(basename "$DEB")"
# The package works on this root: the same checks postinst cannot do offline.
in_root /opt/appliance/venv/bin/appliance --version
in_root /opt/appliance/venv/bin/appliance config validate \
    /usr/share/doc/claim-appliance/production.example.yaml >/dev/null

C=$REPO/image/common
X=$REPO/image/x86
U=$R/usr/lib/systemd/system
install -m 0644 "$C"/data.mount "$C"/var-lib-appliance.mount "$C"/etc-appliance.mount \
    "$C"/appliance-data-setup.service "$C"/appliance-bless.service "$X"/boot-efi.mount "$U/"
install -D -m 0644 "$C/appliance-image.conf" "$U/appliance.service.d/10-image.conf"
install -m 0644 "$C/appliance-data.conf" "$R/usr/lib/tmpfiles.d/"
install -D -m 0644 "$X/system.conf" "$R/etc/rauc/system.conf"
# Debian 12's rauc package has no service files: the D-Bus service, its activation and policy.
install -m 0644 "$X/rauc.service" "$U/"
install -D -m 0644 "$X/de.pengutronix.rauc.service" "$R/usr/share/dbus-1/system-services/de.pengutronix.rauc.service"
install -D -m 0644 "$X/de.pengutronix.rauc.conf" "$R/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf"
install -D -m 0644 "$X/20-wired.network" "$R/etc/systemd/network/20-wired.network"
mkdir -p "$R/data" "$R/boot/efi" "$R/etc/appliance" "$R/var/lib/appliance"
in_root systemctl enable data.mount boot-efi.mount appliance-data-setup.service \
    var-lib-appliance.mount etc-appliance.mount appliance.service appliance-bless.service \
    kiosk.service systemd-networkd.service
# The journal stays in RAM (/run): the root is read-only and /var is a tmpfs.
install -d "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=64M\n' \
    > "$R/etc/systemd/journald.conf.d/10-kiosk.conf"

# The initramfs mounts the squashfs root of the slot GRUB picked.
printf 'squashfs\n' >> "$R/etc/initramfs-tools/modules"
printf 'COMPRESS=zstd\n' > "$R/etc/initramfs-tools/conf.d/compress"
in_root update-initramfs -u -k all

# GRUB for the ESP, built from the image's own grub-efi-amd64-bin.
in_root grub-mkimage -O x86_64-efi -p /EFI/BOOT -o /tmp/BOOTX64.EFI \
    part_gpt fat squash4 ext2 normal linux boot configfile loadenv test regexp echo \
    all_video efi_gop sleep reboot halt
mkdir -p "$R/usr/lib/claim-kiosk"
mv "$R/tmp/BOOTX64.EFI" "$R/usr/lib/claim-kiosk/BOOTX64.EFI"

if [ "$PROFILE" = test ]; then
    # Test image only: no touchscreen session in a headless VM; the guest agent
    # lets the host drive the test; the demo profile config is baked in.
    in_root systemctl mask kiosk.service
    in_root systemctl enable qemu-guest-agent.service 2>/dev/null || true
    install -D -m 0644 "$REPO/image/test/appliance.yaml" "$R/usr/share/claim-kiosk/demo.yaml"
fi

# Identity of this build: filled per version by build-image.sh (os-release IMAGE_VERSION).
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R/etc/hostname"
echo claim-kiosk > "$R/etc/hostname"
# The wheels built the venv at install; an image never reinstalls, so they go.
rm -rf "$R/opt/appliance/wheels"
# Reproducible: no caches or logs with build-time content.
rm -rf "$R"/var/log/* "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* "$R"/tmp/*
find "$R/opt/appliance/venv" -name __pycache__ -prune -exec rm -rf {} +
# Byte-code compiled once, keyed by source hash (no mtimes): fast start on a
# read-only root, same bytes on every build.
in_root /opt/appliance/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/appliance/venv/lib >/dev/null || true
