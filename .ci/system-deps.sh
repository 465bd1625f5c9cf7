#!/usr/bin/env bash
# Debian packages the test suite uses (SoftHSM for the PKCS#11 key store, libusb for
# pyusb, systemd-analyze for unit checks, Chromium and the Noto fonts for the UI end-to-end
# tests, PostgreSQL for the distributed central's tests, bench and `make central`; pcscd,
# vsmartcard's vpcd virtual reader and libccid for the document-chip tests,
# libpcsclite-dev and swig to build pyscard; OCR-B for the MRZ specimen documents;
# mmdebstrap, squashfs/FAT/ext4 tools, RAUC to sign bundles, QEMU/KVM with OVMF for the
# kiosk image and its boot test; qemu-user-static for the arm64 package test; espeak-ng
# for the applicant's spoken prompts rendered at install time).
# Idempotent; skipped when already present.
set -euo pipefail
packages=(softhsm2 opensc libusb-1.0-0 systemd chromium chromium-driver fonts-noto-core postgresql
  pcscd libccid vsmartcard-vpcd libpcsclite-dev swig fonts-ocr-b
  mmdebstrap squashfs-tools dosfstools mtools e2fsprogs fdisk rauc openssl
  qemu-system-x86 qemu-utils ovmf qemu-user-static binfmt-support espeak-ng)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; run as root or install them (tests needing them skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# The downloaded .deb files (about 2.4 GB) go to a directory of our own, removed once
# they are installed: a CI machine's disk may hold little more than the suite needs.
archives=$(mktemp -d)
trap 'rm -rf "$archives"' EXIT
mkdir -p "$archives/partial"
chmod 0755 "$archives"
chown _apt "$archives/partial" 2>/dev/null || true  # apt downloads as _apt
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 -o Dir::Cache::Archives="$archives" \
  install -y -qq --no-install-recommends "${missing[@]}"
