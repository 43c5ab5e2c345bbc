-- Tell every websession server which session rows and users changed, so
-- their read caches (DBDCache, internal/rowcache) drop them: each update or
-- delete sends the row's old key on a channel the servers LISTEN on, and a
-- TRUNCATE sends an empty payload, which empties the cache. Inserts send
-- nothing: the caches never remember that a key was missing. The triggers
-- fire for every writer: websession, Apache's mod_session_dbd, psql.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION websession_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('websession_session', '');
    ELSE
        PERFORM pg_notify('websession_session', OLD.key);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION websession_notify_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('websession_users', '');
    ELSE
        PERFORM pg_notify('websession_users', OLD.name);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER session_notify AFTER UPDATE OR DELETE ON session
    FOR EACH ROW EXECUTE FUNCTION websession_notify_session();
CREATE TRIGGER session_notify_truncate AFTER TRUNCATE ON session
    FOR EACH STATEMENT EXECUTE FUNCTION websession_notify_session();
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION websession_notify_users();
CREATE TRIGGER users_notify_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION websession_notify_users();

-- +goose Down
DROP TRIGGER users_notify_truncate ON users;
DROP TRIGGER users_notify ON users;
DROP TRIGGER session_notify_truncate ON session;
DROP TRIGGER session_notify ON session;
DROP FUNCTION websession_notify_users();
DROP FUNCTION websession_notify_session();
