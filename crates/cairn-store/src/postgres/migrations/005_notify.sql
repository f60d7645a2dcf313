-- The change feed's wake-up: every committed changeset announces its number on the channel
-- `cairn_changes`, so the servers following the feed (LISTEN) catch up at once instead of at
-- their next poll. PostgreSQL delivers a notification only when its transaction commits, and a
-- follower still catches up by number (changed_areas) whatever it was told: a notification lost
-- while a follower was disconnected costs at most one poll interval, never a change.
CREATE FUNCTION cairn_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_changes', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER changesets_notify AFTER INSERT ON changesets
    FOR EACH ROW EXECUTE FUNCTION cairn_notify_change();
