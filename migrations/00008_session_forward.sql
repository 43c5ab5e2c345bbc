-- Where a renamed session row went, for a moment. A changed session gets a
-- new key (the CVE-2013-2249 fix), so a request that was already on its way
-- with the old key found no row and looked logged out; if it wrote a
-- session, its cookie replaced the survivor's and logged the browser out.
-- When a change keeps the login (the credential keys hold what they held),
-- websession records old key -> new key until a few seconds later, and a
-- request with the old key reads the new row. A change of login records
-- nothing: an id planted before a login must never reach the logged-in
-- session. Apache does not read this table.

-- +goose Up
CREATE TABLE session_forward (
    old_key varchar(255) PRIMARY KEY,
    new_key varchar(255) NOT NULL,
    until   bigint       NOT NULL -- µs since the Unix epoch
);
CREATE INDEX session_forward_until_idx ON session_forward (until);

-- +goose Down
DROP TABLE session_forward;
