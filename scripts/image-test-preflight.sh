#!/usr/bin/env bash
# Can this machine build and boot the kiosk image? Exit 0 if so; otherwise print
# the reason on one line and exit 1 (`make test` then reports image-test as skipped).
# The build needs root (mmdebstrap, chroot) and the Debian tools; the boot needs a KVM
# that can run UEFI firmware. Some nested hosts offer a /dev/kvm that opens but cannot
# (a PVM-style hypervisor: "KVM internal error ... emulation failure" in OVMF; another
# host's QEMU aborts at once: "failed to set MSR 0x10a"). There the test would run
# emulated (TCG), far over its 15-minute budget (a run here failed after 34 minutes, at
# its power-cut step), so it is skipped unless IMAGE_TEST_ACCEL=tcg asks for it. The
# probe is the test's own (scripts/imagetest/vm.py), so the two never disagree. No loop
# devices are needed: the disk image is assembled from filesystem images.
# The build (root tree, slot and disk images, three RAUC bundles) and the boot's
# writes take about 7 GB under build/ (4.6 GB measured after `make image PROFILE=test`):
# with less free, the test would stop half-way on a full disk, so it is skipped with
# the figures (IMAGE_TEST_NEED_GB sets what is asked for).
set -u
fail() { echo "$*"; exit 1; }
need_gb=${IMAGE_TEST_NEED_GB:-8}
free_kb=$(df -Pk "$(dirname "$0")/.." | awk 'NR == 2 {print $4}')
[ "$free_kb" -ge $((need_gb * 1024 * 1024)) ] ||
    fail "$((free_kb / 1024)) MB free for build/, the image test needs ${need_gb} GB"
[ "$(id -u)" -eq 0 ] || fail "not root (mmdebstrap and chroot need it)"
[ -e /dev/kvm ] || fail "no /dev/kvm"
{ exec 3<>/dev/kvm; } 2>/dev/null || fail "/dev/kvm cannot be opened"
exec 3>&-
for tool in mmdebstrap qemu-system-x86_64 qemu-img mksquashfs mkfs.fat mcopy mkfs.ext4 sfdisk rauc; do
    command -v "$tool" >/dev/null || fail "$tool is missing (make system-deps)"
done
[ -f /usr/share/ovmf/OVMF.fd ] || fail "OVMF firmware is missing (package ovmf)"
[ "${IMAGE_TEST_ACCEL:-auto}" = tcg ] && exit 0
# The same probe as the test's own choice of accelerator (scripts/imagetest/vm.py).
problem=$(python3 "$(dirname "$0")/imagetest/vm.py") ||
    fail "/dev/kvm cannot run UEFI firmware here (${problem:-no reason given}); IMAGE_TEST_ACCEL=tcg runs it emulated"
exit 0
