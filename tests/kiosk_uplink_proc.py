"""Child process for the kill -9 test: drain a kiosk's outbox to central, then exit 0."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from appliance.identity.store import IdentityFiles, load_identity
from appliance.outbox import Outbox
from appliance.uplink.client import TlsMaterial, Uplink, UplinkSettings, secure_channel


async def main(root: Path, port: int) -> int:
    identity = load_identity(
        IdentityFiles(root / "kiosk" / "identity"), b"0123456789abcdef0123456789abcdef"
    )
    outbox = Outbox(root / "kiosk" / "outbox", quota_bytes=1 << 30)
    tls = TlsMaterial(identity.client_key_pem(), identity.chain_pem(), identity.trust_anchors_pem)
    channel = secure_channel(f"127.0.0.1:{port}", tls)
    uplink = Uplink(
        outbox,
        channel,
        identity.receipt_signer,
        UplinkSettings(chunk_bytes=64 << 10, bandwidth_bytes_s=1 << 20),
    )
    while outbox.status().depth:
        if not await uplink.drain():
            await asyncio.sleep(0.1)
    await channel.close()
    outbox.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]))))
