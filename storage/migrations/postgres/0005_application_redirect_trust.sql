-- Whether an operator vouched for an application's redirect URIs (RFC 9700
-- §4.11.2): set for applications made through the CLI, never
-- through the APIs, and cleared when a user adds a redirect URI. Only then
-- are errors found before the user saw the application redirected to the
-- client. Applications that exist already cannot be told apart, so they
-- start untrusted: their early errors are shown on assetgate's page.
ALTER TABLE applications ADD COLUMN redirect_uris_trusted BOOLEAN NOT NULL DEFAULT FALSE;
