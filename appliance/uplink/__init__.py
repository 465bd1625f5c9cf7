"""Store-and-forward uplink: drains the outbox to central over gRPC (mTLS), resumably."""
