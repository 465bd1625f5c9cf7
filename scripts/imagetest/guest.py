"""Commands the image test runs inside the guest (as root, through the guest agent).

Only the packaged CLI (`appliance provision`, `appliance run` via systemd), RAUC
and systemd are used, except two small Python programs for the venv: one seals
simulated enrolments into the kiosk's outbox (the seed before the update), one
reads the outbox's index read-only and checks every queued blob's SHA-256.
"""

from __future__ import annotations

APPLIANCE = "/opt/appliance/venv/bin/appliance"
PYTHON = "/opt/appliance/venv/bin/python"
STATE = "/var/lib/appliance"
CREDENTIALS = "/etc/appliance/credentials"

FACTS = r"""
. /etc/os-release
slot=$(sed -n 's/.*rauc\.slot=\([A-Z]\).*/\1/p' /proc/cmdline)
echo "version=$IMAGE_VERSION"
echo "slot=$slot"
echo "appliance=$(systemctl is-active appliance.service)"
echo "bless=$(systemctl is-active appliance-bless.service)"
echo "ready_us=$(systemctl show -P ActiveEnterTimestampMonotonic appliance.service)"
echo "blessed_us=$(systemctl show -P ActiveEnterTimestampMonotonic appliance-bless.service)"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "failed_units=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
grub-editenv /boot/efi/EFI/BOOT/grubenv list | sed 's/^/grubenv./'
"""

READ_ONLY = r"""
set -e
findmnt -no FSTYPE,OPTIONS /
if touch /usr/.image-test 2>/run/touch.err; then echo WRITABLE; exit 1; fi
cat /run/touch.err
for path in /data /var/lib/appliance /etc/appliance; do
    echo "$path $(findmnt -no SOURCE,FSTYPE "$path" | tr '\n' ' ')"
done
"""

PROVISION = r"""
set -e
install -d -m 0700 {cred}
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > {cred}/device-key-passphrase
chmod 0600 {cred}/device-key-passphrase
cat > /run/central-ca.pem
CREDENTIALS_DIRECTORY={cred} {app} provision --central {central} --token {token} \
    --site CLAIM-TEST-001 --ca /run/central-ca.pem --state-dir {state} --kiosk-name image-test-kiosk
sed 's/10\.0\.2\.2:50443/{uplink}/' /usr/share/claim-kiosk/demo.yaml > /etc/appliance/appliance.yaml
{app} config validate /etc/appliance/appliance.yaml
chown -R appliance:appliance {state}
"""

# Under emulation (TCG) the appliance needs longer than systemd's default 90 s start
# timeout to load its models and report READY. The ESP's cmdline.txt (sourced by
# grub.cfg, shared by both slots, so it survives updates) raises the default for
# every later boot; a runtime drop-in raises it for the boot in progress. KVM and
# real kiosks need neither.
SLOW_START = r"""
set -e
echo 'set extra_cmdline="systemd.default_timeout_start_sec={seconds}"' \
    > /boot/efi/EFI/BOOT/cmdline.txt
mkdir -p /run/systemd/system/appliance.service.d
printf '[Service]\nTimeoutStartSec={seconds}\n' \
    > /run/systemd/system/appliance.service.d/emulation.conf
systemctl daemon-reload
"""

START = r"""
if ! systemctl start appliance.service; then
    journalctl -b -u appliance.service --no-pager | tail -n 30
    exit 1
fi
systemctl start appliance-bless.service
"""

# Seals N enrolments of small synthetic items into the outbox (appliance.service
# stopped, central away) with the kiosk's own provisioned identity, through the
# appliance's PacketSealer: the same signed, HPKE-encrypted packets a capture makes.
# No capture engine, OpenCV or image synthesis runs: under emulation they cost
# minutes per enrolment, and the test is about the packets surviving updates.
SEED = r"""
import json, struct, sys, time, zlib
from pathlib import Path

from appliance.capture.captures import EnrolmentCaptures
from appliance.capture.sealing import PacketSealer, SealRequest
from appliance.identity.software_key import credential_secret
from appliance.identity.store import IdentityFiles, load_identity
from appliance.metrics import ApplianceMetrics
from appliance.outbox import Outbox
from packet.manifest import uuid7

def png(width, height, seed):
    # A synthetic 8-bit grey PNG (a gradient), built with zlib: no image library.
    rows = b"".join(b"\0" + bytes((x * 7 + y * 3 + seed) & 255 for x in range(width))
                    for y in range(height))
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

def main(count):
    t0 = time.monotonic()
    state = Path("/var/lib/appliance")
    loaded = load_identity(IdentityFiles(state / "identity"), credential_secret())
    outbox = Outbox(state / "outbox", quota_bytes=256 << 20)
    sealer = PacketSealer(outbox, loaded.identity, loaded.central_keys[0], "CLAIM-TEST-001",
                          ApplianceMetrics())
    t1 = time.monotonic()
    for number in range(count):
        captures = EnrolmentCaptures()
        captures.add("face", "image/png", "face.png", png(96, 128, number), synthetic=1)
        captures.add("finger", "image/png", "finger-02.png", png(128, 160, 100 + number),
                     position=2, synthetic=1)
        record = {"synthetic": True, "seed": number}
        captures.add("record", "application/json", "record.json", json.dumps(record).encode())
        request = SealRequest(uuid7(), f"IMAGE-{number:05d}", "image-test", time.time())
        sealer.seal(captures, request)
        captures.wipe()
    t2 = time.monotonic()
    print(json.dumps({"depth": outbox.status().depth, "load_s": round(t1 - t0, 1),
                      "seal_s": round(t2 - t1, 1)}))
    outbox.close()

main(int(sys.argv[1]))
"""

# Read-only look at the outbox: packets per state, and every queued blob's SHA-256.
OUTBOX = r"""
import hashlib, json, sqlite3
from pathlib import Path
root = Path("/var/lib/appliance/outbox")
db = sqlite3.connect(f"file:{root / 'outbox.sqlite'}?mode=ro", uri=True)
states = dict(db.execute("SELECT state, COUNT(*) FROM packets GROUP BY state").fetchall())
bad = 0
for packet_id, sha in db.execute(
        "SELECT packet_id, sha256 FROM packets WHERE state IN ('queued', 'uploading')"):
    blob = root / "blobs" / f"{packet_id}.pkt"
    if not blob.is_file() or hashlib.sha256(blob.read_bytes()).hexdigest() != sha:
        bad += 1
print(json.dumps({"states": states, "bad_blobs": bad}))
"""


def provision_script(central: str, uplink: str, token: str) -> str:
    return PROVISION.format(
        cred=CREDENTIALS, app=APPLIANCE, central=central, uplink=uplink, token=token, state=STATE
    )


def seed_script(count: int) -> str:
    return (
        "set -e\nsystemctl stop appliance.service\n"
        f"CREDENTIALS_DIRECTORY={CREDENTIALS} {PYTHON} - {count}\n"
        f"chown -R appliance:appliance {STATE}\n"
    )


def outbox_script() -> str:
    return f"runuser -u appliance -- {PYTHON} -"


def install(version: str, background: bool) -> str:
    """`rauc install` a bundle from the update medium (the host's bundle folder, 9p, ro)."""
    script = (
        "set -e\nmkdir -p /run/updates\n"
        "mountpoint -q /run/updates || mount -t 9p -o trans=virtio,version=9p2000.L,ro,"
        "msize=524288 updates /run/updates\n"
    )
    bundle = f"/run/updates/claim-kiosk_{version}.raucb"
    if background:
        return (
            script
            + f"nohup stdbuf -oL rauc install {bundle} > /run/rauc-install.log 2>&1 &\n"
            + "echo started\n"
        )
    return script + f"rauc install {bundle}\n"


# RAUC's own progress (D-Bus), e.g. `(isi) 40 "Copying image to rootfs.0" 2`, and its log.
INSTALL_PROGRESS = (
    "busctl get-property de.pengutronix.rauc / de.pengutronix.rauc.Installer Progress"
    " 2>/dev/null; cat /run/rauc-install.log 2>/dev/null; true"
)


def parse_facts(text: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            facts[key.strip()] = value.strip()
    return facts
