-- The sensor appliance (sensor/app): the asset inventory with the
-- operators' fields, the communication pairs, uploaded captures with their
-- analysis results, and the settings an admin changes at run time.

-- +goose Up
CREATE TABLE devices (
    id      INTEGER PRIMARY KEY, -- the inventory's device ID
    last_ns INTEGER,
    doc     BLOB NOT NULL        -- inventory.Record as JSON
);
CREATE INDEX devices_last ON devices (last_ns);

CREATE TABLE device_operator (
    id         INTEGER PRIMARY KEY, -- the device ID
    doc        BLOB NOT NULL,       -- store.DeviceOperator as JSON
    updated_ns INTEGER
);

CREATE TABLE connections (
    key      TEXT PRIMARY KEY, -- client|server|transport|port
    protocol TEXT,
    last_ns  INTEGER,
    doc      BLOB NOT NULL     -- store.Connection as JSON
);
CREATE INDEX connections_last ON connections (last_ns);

CREATE TABLE captures (
    id          TEXT PRIMARY KEY,
    uploaded_ns INTEGER,
    size        INTEGER,
    doc         BLOB NOT NULL, -- store.Capture as JSON
    result      BLOB           -- the analysis session's results as JSON
);
CREATE INDEX captures_uploaded ON captures (uploaded_ns);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    doc        BLOB NOT NULL,
    updated_ns INTEGER
);

-- +goose Down
DROP TABLE settings;
DROP TABLE captures;
DROP TABLE connections;
DROP TABLE device_operator;
DROP TABLE devices;
