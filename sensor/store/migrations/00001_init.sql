-- The sensor's first schema: the learned baseline, the alerts with their
-- pcap snippets, the alert mutes and a small key/value table.
-- Later issues add their tables in new numbered files; never edit a file
-- that has shipped.

-- +goose Up
CREATE TABLE baseline_items (
    key      TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    data     BLOB NOT NULL,
    first_ns INTEGER,
    last_ns  INTEGER
);
CREATE INDEX baseline_items_kind ON baseline_items (kind);

CREATE TABLE alerts (
    id       TEXT PRIMARY KEY,
    key      TEXT,
    rule     TEXT,
    engine   TEXT,
    severity TEXT,
    status   TEXT,
    title    TEXT,
    src_ip   TEXT,
    dst_ip   TEXT,
    protocol TEXT,
    first_ns INTEGER,
    last_ns  INTEGER,
    count    INTEGER,
    doc      BLOB NOT NULL, -- the whole alert as JSON
    snippet  BLOB          -- pcap of the packets around the first occurrence
);
CREATE INDEX alerts_last ON alerts (last_ns);
CREATE INDEX alerts_status_last ON alerts (status, last_ns);
CREATE INDEX alerts_severity_last ON alerts (severity, last_ns);
CREATE INDEX alerts_rule_last ON alerts (rule, last_ns);
CREATE INDEX alerts_engine_last ON alerts (engine, last_ns);
CREATE INDEX alerts_src_ip ON alerts (src_ip);
CREATE INDEX alerts_dst_ip ON alerts (dst_ip);
CREATE INDEX alerts_key ON alerts (key);

CREATE TABLE alert_mutes (
    key TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB
);

-- +goose Down
DROP TABLE meta;
DROP TABLE alert_mutes;
DROP TABLE alerts;
DROP TABLE baseline_items;
