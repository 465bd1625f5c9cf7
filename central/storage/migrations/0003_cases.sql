-- The case store of CaseService (central/cases/postgres_store.py): what the counters
-- need of each case, its appointments, and at most one attendance per appointment.

CREATE TABLE cases (
    case_reference  text PRIMARY KEY,
    status          text NOT NULL CHECK (status IN ('open', 'suspended', 'closed')),
    full_name       text NOT NULL,
    date_of_birth   text NOT NULL,
    nationality     text NOT NULL,
    document_type   text NOT NULL,
    document_number text NOT NULL
);

CREATE TABLE appointments (
    appointment_code text PRIMARY KEY,
    case_reference   text NOT NULL REFERENCES cases (case_reference),
    site_id          text NOT NULL,
    window_start     timestamptz NOT NULL,
    window_end       timestamptz NOT NULL
);
CREATE INDEX appointments_site_start ON appointments (site_id, window_start);
CREATE INDEX appointments_case ON appointments (case_reference);

-- The primary key makes the first check-in of an appointment the only one.
CREATE TABLE attendances (
    appointment_code text PRIMARY KEY REFERENCES appointments (appointment_code),
    check_in_id      uuid NOT NULL UNIQUE,
    device_id        text NOT NULL,
    checked_in_at    timestamptz NOT NULL,
    verified_offline boolean NOT NULL,
    received_at      timestamptz NOT NULL
);

CREATE TABLE case_sites (
    site_id   text PRIMARY KEY,
    time_zone text NOT NULL
);
