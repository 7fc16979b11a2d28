-- Authentication and accountability for the web server (sensor/web/auth):
-- users with their argon2id password hashes, browser sessions and API
-- tokens (both stored as SHA-256 hashes of the random secret, never the
-- secret itself) and the audit log of every change made through the API.

-- +goose Up
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL, -- PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash
    created_ns    INTEGER NOT NULL,
    password_ns   INTEGER NOT NULL, -- last password change
    login_ns      INTEGER           -- last successful login
);
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY, -- SHA-256 of the session ID in the cookie
    user       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    created_ns INTEGER NOT NULL,
    seen_ns    INTEGER NOT NULL, -- last use, for the idle expiry
    expires_ns INTEGER NOT NULL, -- absolute expiry
    client_ip  TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user, created_ns);
CREATE INDEX sessions_expires ON sessions (expires_ns);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY, -- public identifier, for listing and revoking
    token_hash BLOB NOT NULL UNIQUE, -- SHA-256 of the token
    name       TEXT NOT NULL,
    owner      TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    role       TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL,
    used_ns    INTEGER
);
CREATE INDEX api_tokens_owner ON api_tokens (owner, created_ns);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns   INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    via       TEXT NOT NULL, -- session, token, cli, system, anonymous
    client_ip TEXT NOT NULL DEFAULT '',
    method    TEXT NOT NULL DEFAULT '',
    route     TEXT NOT NULL DEFAULT '',
    target    TEXT NOT NULL DEFAULT '',
    status    INTEGER NOT NULL DEFAULT 0,
    result    TEXT NOT NULL, -- ok, denied, failed
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_time ON audit_log (time_ns);
CREATE INDEX audit_log_actor_time ON audit_log (actor, time_ns);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
