#!/usr/bin/env bash
# `make run`: a local reference receiver, a provisioned demo kiosk, then the appliance
# with simulated devices on http://127.0.0.1:8080. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
STATE=var/demo
CENTRAL=var/central
mkdir -p "$STATE/credentials" "$CENTRAL"
chmod 700 "$STATE" "$STATE/credentials"
# Demo only: a real kiosk gets this secret from systemd (LoadCredential=).
if [ ! -s "$STATE/credentials/device-key-passphrase" ]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE/credentials/device-key-passphrase"
  chmod 600 "$STATE/credentials/device-key-passphrase"
fi
export CREDENTIALS_DIRECTORY="$PWD/$STATE/credentials"
TOKEN="demo-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Synthetic (invented) cases for the demo site, seeded every day: 24 appointments,
# plus closed, suspended and other-site ones (central/cases/synthetic.py).
"$BIN/appliance-receiver" --dir "$CENTRAL" --listen 127.0.0.1:50443 \
  --enrol-listen 127.0.0.1:50444 --token "$TOKEN" --log-level WARNING \
  --synthetic-cases CLAIM-DEMO-001:24 &
RECEIVER=$!
trap 'kill $RECEIVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  [ -s "$CENTRAL/ca/ca.pem" ] && break
  sleep 0.2
done
sleep 0.5
if [ ! -s "$STATE/identity/device-chain.pem" ]; then
  "$BIN/appliance" provision --central 127.0.0.1:50444 --token "$TOKEN" \
    --site CLAIM-DEMO-001 --ca "$CENTRAL/ca/ca.pem" --state-dir "$STATE" --kiosk-name demo-kiosk
fi
# The document camera's scenes (synthetic: a QR appointment slip and a SPECIMEN card).
# The slip carries today's first synthetic appointment code of the demo site.
mkdir -p "$STATE/scenes"
"$BIN/appliance-receiver" cases seed --dir "$CENTRAL" --site CLAIM-DEMO-001 --count 24 --json \
  > "$STATE/scenes/seeded.json"
"$BIN/python" - "$STATE/scenes" <<'PY'
import json
import sys
from pathlib import Path

import cv2

from drivers.sim.documents import counter_scene

scenes = Path(sys.argv[1])
first = json.loads((scenes / "seeded.json").read_text())["cases"][0]
for seed in range(2):
    path = scenes / f"counter-{seed}.png"
    cv2.imwrite(str(path), counter_scene(f"AIMA:APPOINTMENT={first['appointment_code']}", seed=seed))
PY
# Demo accounts (demo only: a real kiosk's first technician is created at provisioning).
# Each account is created only if it is missing, so a second `make run` changes nothing.
usernames=$("$BIN/appliance" account list --state-dir "$STATE" | awk '{print $1}')
add_account() {  # NAME ROLE DISPLAY SECRET [--pin]
  local name=$1 role=$2 display=$3 secret=$4 pin=${5:-}
  if ! grep -qx -- "$name" <<<"$usernames"; then
    printf '%b' "$secret" | "$BIN/appliance" account add "$name" --role "$role" \
      --display-name "$display" ${pin:+--pin} --state-dir "$STATE" --secret-stdin
  fi
}
add_account demo-tech technician "Demo technician" 'demo-tech-pass\n'
add_account operador operator "Demo operator" 'demo-operator\n'
add_account supervisor supervisor "Demo supervisor" 'demo-supervisor\n246813\n' pin
echo "Kiosk UI: http://127.0.0.1:8080  (operador / demo-operator, supervisor / demo-supervisor" \
  "PIN 246813, demo-tech / demo-tech-pass)"
"$BIN/appliance" run --config config/demo.yaml
