-- Token storage: token families (one per grant), the tokens of each family
-- (stored only under their keyed hash), rotated-out refresh tokens for reuse
-- detection, and short-lived ephemeral values. Deleting a family deletes its
-- tokens and rotation records. No foreign keys to business tables: the token
-- store stands on its own. Times are UTC.

CREATE TABLE token_families (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    device_id   TEXT NOT NULL DEFAULT '',
    expires_at  TIMESTAMP
) WITHOUT ROWID;

CREATE INDEX token_families_client_id ON token_families (client_id);
CREATE INDEX token_families_user_id ON token_families (user_id) WHERE user_id <> '';
CREATE INDEX token_families_expires_at ON token_families (expires_at);

CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL DEFAULT '',
    client_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    username    TEXT NOT NULL DEFAULT '',
    device_id   TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL DEFAULT '[]',
    scope       TEXT NOT NULL DEFAULT '',
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP
) WITHOUT ROWID;

CREATE INDEX tokens_family_id ON tokens (family_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE token_rotations (
    hash       TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    rotated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
) WITHOUT ROWID;

CREATE INDEX token_rotations_family_id ON token_rotations (family_id);
CREATE INDEX token_rotations_expires_at ON token_rotations (expires_at);

CREATE TABLE ephemeral (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    counter    INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMP NOT NULL
) WITHOUT ROWID;

CREATE INDEX ephemeral_expires_at ON ephemeral (expires_at);
