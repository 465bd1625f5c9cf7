-- 0001: the reference central service's index (PostgreSQL 13 or later).
-- Applied once by central.storage.migrate, inside one transaction.

CREATE TABLE uploads (
    packet_id      uuid PRIMARY KEY,
    device_id      text NOT NULL,
    total_size     bigint NOT NULL CHECK (total_size > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    committed_size bigint NOT NULL DEFAULT 0 CHECK (committed_size BETWEEN 0 AND total_size),
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per acknowledged Write chunk; its bytes are the S3 object object_key.
-- The primary key makes two writers of one offset impossible: only the writer whose
-- UPDATE of uploads.committed_size matched the offset inserts its part.
CREATE TABLE upload_parts (
    packet_id   uuid NOT NULL REFERENCES uploads (packet_id) ON DELETE CASCADE,
    part_offset bigint NOT NULL CHECK (part_offset >= 0),
    length      integer NOT NULL CHECK (length > 0),
    object_key  text NOT NULL,
    PRIMARY KEY (packet_id, part_offset)
);

-- Accepted packets. The primary key is the idempotency index: two replicas racing
-- on one Commit both try to insert, one wins, and both answer with its receipt.
CREATE TABLE packets (
    packet_id      uuid PRIMARY KEY,
    device_id      text NOT NULL,
    size           bigint NOT NULL CHECK (size > 0),
    sha256         text NOT NULL,
    object_key     text NOT NULL,
    receipt        bytea NOT NULL,
    manifest       jsonb NOT NULL,
    case_reference text NOT NULL DEFAULT '',
    committed_at   timestamptz NOT NULL DEFAULT now(),
    commits        integer NOT NULL DEFAULT 1 CHECK (commits >= 1)
);
CREATE INDEX packets_device_id ON packets (device_id);
CREATE INDEX packets_committed_at ON packets (committed_at);

CREATE TABLE enrolment_tokens (
    token          text PRIMARY KEY,
    used_by        text,
    csr_key_sha256 text,
    response       bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    used_at        timestamptz
);

-- The device registry: every certificate central issued, by serial (decimal text:
-- X.509 serials are up to 20 octets, more than bigint holds).
CREATE TABLE devices (
    serial      text PRIMARY KEY,
    device_id   text NOT NULL,
    site_id     text NOT NULL,
    certificate bytea NOT NULL,
    enrolled_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_device_id ON devices (device_id);

CREATE TABLE revocations (
    serial     text PRIMARY KEY,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE heartbeats (
    device_id          text PRIMARY KEY,
    received_at        timestamptz NOT NULL,
    software_version   text NOT NULL,
    outbox_depth       bigint NOT NULL,
    outbox_quarantined bigint NOT NULL
);
