-- OpenID Connect. signing_keys: the keys ID tokens (and JWT access tokens)
-- are signed with, the private key encrypted under the server key. A key
-- is published from its creation, signs from signs_from (a rotation sets it
-- later, so caches fetch the new key before it is used), stops signing at
-- retired_at (when the next key starts) and is published until
-- published_until (when the last token it signed has expired).
CREATE TABLE signing_keys (
    id              TEXT PRIMARY KEY,
    alg             TEXT NOT NULL,
    private_key     TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    signs_from      TIMESTAMP NOT NULL,
    retired_at      TIMESTAMP,
    published_until TIMESTAMP
) WITHOUT ROWID;

-- The token families of the grants users made (code, device code,
-- password, implicit): whose and which application's they are, so that a
-- withdrawn consent revokes them, and for OpenID Connect grants the login
-- session (sid, '' when none) and when the user logged in, which the ID
-- tokens of every refresh repeat.
CREATE TABLE token_family_sessions (
    family_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    sid        TEXT NOT NULL DEFAULT '',
    auth_time  TIMESTAMP,
    expires_at TIMESTAMP NOT NULL
) WITHOUT ROWID;

CREATE INDEX token_family_sessions_user_client ON token_family_sessions (user_id, client_id);
CREATE INDEX token_family_sessions_sid ON token_family_sessions (sid) WHERE sid <> '';
CREATE INDEX token_family_sessions_expires_at ON token_family_sessions (expires_at);

-- Remembered consent: the scope set a user granted an application.
CREATE TABLE consents (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    scope       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;

CREATE INDEX consents_client_id ON consents (client_id);

-- Per-application OpenID Connect settings: RP-initiated logout revokes the
-- session's refresh tokens; access tokens are JWTs (RFC 9068).
ALTER TABLE applications ADD COLUMN logout_revokes_tokens INTEGER NOT NULL DEFAULT 0 CHECK (logout_revokes_tokens IN (0, 1));
ALTER TABLE applications ADD COLUMN jwt_access_tokens INTEGER NOT NULL DEFAULT 0 CHECK (jwt_access_tokens IN (0, 1));
