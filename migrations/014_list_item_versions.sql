-- 014: a version of each experiments row, for the list's kept item texts
-- (server/store/store_exp_items.c). Writing an item of a page from its 31 columns and its newest
-- metric row cost most of a page's time; a page now reads the ids and versions of its rows and
-- copies the text kept for an id at that version, written again only when the version differs.
-- The trigger below counts every update of a row, whoever makes it (the daemon, another
-- connection, a hand edit), in the update's own transaction, so the version read with a page is
-- the version of the row in the page's snapshot. Every write of a run's metric rows also writes
-- its experiments row (last_seq, offset, latest values), which counts for the item's
-- latest_wall_s. Ids are never reused (AUTOINCREMENT), so a new row starting at 0 is never
-- taken for a deleted one.
-- A later migration that rebuilds the experiments table drops this trigger with the old table
-- and must create it again.
ALTER TABLE experiments ADD COLUMN row_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER experiments_row_version AFTER UPDATE ON experiments
    WHEN NEW.row_version = OLD.row_version BEGIN
    UPDATE experiments SET row_version = OLD.row_version + 1 WHERE id = NEW.id;
END;
