-- Server-side state that several websession servers on one database share
-- (package revocation and authform's throttle). Times are microseconds
-- since the Unix epoch, as in the session table.

-- +goose Up
-- Ended logins. A row with sid set ends that one login (logout); a row with
-- name set ends every login of that user made before cutoff, except the
-- one whose id is keep (log out everywhere, password change). A row is
-- useless, and deleted, after until: by then the sessions it ends have
-- expired anyway.
CREATE TABLE session_revocation (
    id     bigserial    PRIMARY KEY,
    sid    varchar(64)  NOT NULL DEFAULT '',
    name   varchar(255) NOT NULL DEFAULT '',
    cutoff bigint       NOT NULL DEFAULT 0,
    keep   varchar(64)  NOT NULL DEFAULT '',
    reason varchar(16)  NOT NULL,
    until  bigint       NOT NULL,
    -- When the row was written, on the database's clock: each server polls
    -- for the rows added since its last look.
    added  timestamptz  NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX session_revocation_added_idx ON session_revocation (added);
CREATE INDEX session_revocation_until_idx ON session_revocation (until);

-- Login attempts per throttle key (user name, client address, or the
-- pair) in the current window, which began at started.
CREATE TABLE login_throttle (
    key     varchar(600) PRIMARY KEY,
    started bigint       NOT NULL,
    count   integer      NOT NULL
);
CREATE INDEX login_throttle_started_idx ON login_throttle (started);

-- +goose Down
DROP TABLE login_throttle;
DROP TABLE session_revocation;
