-- The logins that are active, so that a user can see their sessions on
-- every server sharing the database and end any one of them (package
-- logins). Times are microseconds since the Unix epoch, as in the session
-- table.

-- +goose Up
-- One row per login: id is the login id kept in the session (the one the
-- record of ended logins names). last_seen is written at most once a
-- minute per login, not on every request. A row is useless, and deleted,
-- after until: by then its session has expired (SessionMaxAge after it
-- was last seen) or reached its lifetime (AuthFormLoginLifetime).
CREATE TABLE session_login (
    id        varchar(64)  PRIMARY KEY,
    name      varchar(255) NOT NULL,
    created   bigint       NOT NULL,
    last_seen bigint       NOT NULL,
    client    varchar(64)  NOT NULL DEFAULT '',
    agent     varchar(255) NOT NULL DEFAULT '',
    until     bigint       NOT NULL
);
CREATE INDEX session_login_name_idx ON session_login (name);
CREATE INDEX session_login_until_idx ON session_login (until);

-- +goose Down
DROP TABLE session_login;
