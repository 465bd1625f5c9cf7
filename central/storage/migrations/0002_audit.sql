-- 0002: kiosks' records of operations (entries, accepted checkpoints, flags) and
-- their signed daily ledgers (issue 17). See central/storage/audit.py.

-- One row per device: how many entries central holds, the compact range (RFC 9162
-- perfect subtrees) of those leaves, and the latest checkpoint it accepted.
CREATE TABLE audit_logs (
    device_id       text PRIMARY KEY,
    entries_held    bigint NOT NULL DEFAULT 0 CHECK (entries_held >= 0),
    frontier        bytea NOT NULL DEFAULT '',
    checkpoint_size bigint NOT NULL DEFAULT 0 CHECK (checkpoint_size >= 0),
    checkpoint_root bytea NOT NULL DEFAULT '',
    checkpoint_time text,
    checkpoint_note bytea NOT NULL DEFAULT '',
    flagged         boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The entries, each with its leaf hash; (device_id, idx) makes a double append impossible.
CREATE TABLE audit_entries (
    device_id text NOT NULL,
    idx       bigint NOT NULL CHECK (idx >= 0),
    leaf      bytea NOT NULL CHECK (length(leaf) = 32),
    entry     bytea NOT NULL,
    PRIMARY KEY (device_id, idx)
);

-- A rewritten or truncated history, once per device, kind and checkpoint size.
CREATE TABLE audit_flags (
    device_id       text NOT NULL,
    kind            text NOT NULL,
    checkpoint_size bigint NOT NULL,
    detail          text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, kind, checkpoint_size)
);

-- The latest revision of each day's signed ledger, with its reconciliation.
CREATE TABLE audit_ledgers (
    device_id          text NOT NULL,
    day                date NOT NULL,
    site_id            text NOT NULL,
    revision           integer NOT NULL CHECK (revision >= 1),
    note               bytea NOT NULL,
    matches            boolean NOT NULL,
    receipts           integer NOT NULL,
    missing_at_kiosk   jsonb NOT NULL,
    unknown_at_central jsonb NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, day)
);
CREATE INDEX audit_ledgers_day ON audit_ledgers (day);
