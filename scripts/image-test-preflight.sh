#!/usr/bin/env bash
# Can this machine build and boot the kiosk image? Exit 0 if so; otherwise print
# the reason on one line and exit 1 (`make test` then reports image-test as skipped).
# The build needs root (mmdebstrap, chroot) and the Debian tools; the boot needs KVM.
# No loop devices are needed: the disk image is assembled from filesystem images.
set -u
fail() { echo "$*"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "not root (mmdebstrap and chroot need it)"
[ -e /dev/kvm ] || fail "no /dev/kvm"
{ exec 3<>/dev/kvm; } 2>/dev/null || fail "/dev/kvm cannot be opened"
exec 3>&-
for tool in mmdebstrap qemu-system-x86_64 qemu-img mksquashfs mkfs.fat mcopy mkfs.ext4 sfdisk rauc; do
    command -v "$tool" >/dev/null || fail "$tool is missing (make system-deps)"
done
[ -f /usr/share/ovmf/OVMF.fd ] || fail "OVMF firmware is missing (package ovmf)"
exit 0
