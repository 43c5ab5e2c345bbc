-- The table mod_session_dbd's statements (the manual's selectsession,
-- insertsession, updatesession, deletesession, cleansession) use as written:
-- key is a 36-char session id or, with SessionDBDPerUser, a user name;
-- expiry is microseconds since the Unix epoch, 0 = never.

-- +goose Up
CREATE TABLE session (
    key    varchar(255) PRIMARY KEY,
    value  text         NOT NULL,
    expiry bigint       NOT NULL DEFAULT 0
);
-- For the periodic cleanup: delete from session where expiry != 0 and expiry < $1.
CREATE INDEX session_expiry_idx ON session (expiry) WHERE expiry != 0;

-- +goose Down
DROP TABLE session;
