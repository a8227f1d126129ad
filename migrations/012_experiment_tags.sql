-- 012: the tags of each experiment as rows, for the list's tag= filter
-- (server/store/store_exp_list.c). Reading the JSON text of every experiment cost about 0.9 ms a
-- page at 10^4 experiments, and one text that is not JSON made json_each fail the listing of all
-- the others. The JSON text in experiments.tags stays what the API answers; these rows follow it
-- through the triggers below, whoever writes it (submit, PUT tags, a delete, a hand edit). Only
-- the text values count, as json_each's value = ?tag matched them before; a text that is not JSON
-- gives no rows.
-- A later migration that rebuilds the experiments table drops these triggers with the old table
-- and must create them again.
CREATE TABLE experiment_tags (
    exp_id INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (exp_id, tag)
) WITHOUT ROWID;
CREATE INDEX experiment_tags_tag ON experiment_tags (tag, exp_id);

INSERT OR IGNORE INTO experiment_tags (exp_id, tag)
    SELECT e.id, t.value FROM experiments AS e,
        json_each(CASE WHEN json_valid(e.tags) THEN e.tags ELSE '[]' END) AS t
    WHERE t.type = 'text';

CREATE TRIGGER experiment_tags_insert AFTER INSERT ON experiments BEGIN
    INSERT OR IGNORE INTO experiment_tags (exp_id, tag)
        SELECT NEW.id, value FROM json_each(CASE WHEN json_valid(NEW.tags) THEN NEW.tags
                                                 ELSE '[]' END)
        WHERE type = 'text';
END;

CREATE TRIGGER experiment_tags_update AFTER UPDATE OF id, tags ON experiments BEGIN
    DELETE FROM experiment_tags WHERE exp_id = OLD.id;
    INSERT OR IGNORE INTO experiment_tags (exp_id, tag)
        SELECT NEW.id, value FROM json_each(CASE WHEN json_valid(NEW.tags) THEN NEW.tags
                                                 ELSE '[]' END)
        WHERE type = 'text';
END;

CREATE TRIGGER experiment_tags_delete AFTER DELETE ON experiments BEGIN
    DELETE FROM experiment_tags WHERE exp_id = OLD.id;
END;
