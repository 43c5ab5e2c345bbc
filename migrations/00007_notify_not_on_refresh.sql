-- A SessionMaxAge refresh rewrites a session's row under the same key with
-- a later expiry on every request. Its content is the same session (Apache
-- and websession give a changed session a new key), so the rows other
-- servers cache stay right until the expiry they read, and the NOTIFY
-- 00003 sent for it was pure cost: each notifying commit takes a
-- cluster-wide lock, so a refreshed session served at the speed of
-- serialised commits. An update that keeps the key and moves the expiry
-- later is no longer notified; any other update (new key, value changed
-- with the expiry kept or shortened, expiry shortened or set to 0), every
-- delete and a TRUNCATE still are.

-- +goose Up
DROP TRIGGER session_notify ON session;
CREATE TRIGGER session_notify AFTER DELETE ON session
    FOR EACH ROW EXECUTE FUNCTION websession_notify_session();
CREATE TRIGGER session_notify_update AFTER UPDATE ON session
    FOR EACH ROW
    WHEN (NOT (OLD.key = NEW.key AND OLD.expiry <> 0 AND NEW.expiry > OLD.expiry))
    EXECUTE FUNCTION websession_notify_session();

-- +goose Down
DROP TRIGGER session_notify_update ON session;
DROP TRIGGER session_notify ON session;
CREATE TRIGGER session_notify AFTER UPDATE OR DELETE ON session
    FOR EACH ROW EXECUTE FUNCTION websession_notify_session();
