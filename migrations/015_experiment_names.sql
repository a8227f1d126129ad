-- 015: a trigram index of experiment names, for the list's q= search
-- (server/store/store_exp_list.c). q= was a LIKE tested on every name until a page was full: the
-- whole table for a rare text, about 2-3 ms a page at 10^4 experiments. The index gives the
-- experiments whose name holds every trigram of the search (folding case over all of Unicode, so
-- a superset of what the LIKE, which folds ASCII only, matches); the LIKE stays the exact test of
-- those few. Only which names hold a trigram is kept (detail none: no positions), which is all an
-- AND of trigrams needs. The names follow experiments.name through the triggers below, whoever
-- writes it.
-- A later migration that rebuilds the experiments table drops these triggers with the old table
-- and must create them again.
CREATE VIRTUAL TABLE experiment_names USING fts5(name, tokenize = 'trigram', detail = 'none');

INSERT INTO experiment_names (rowid, name) SELECT id, name FROM experiments;

CREATE TRIGGER experiment_names_insert AFTER INSERT ON experiments BEGIN
    INSERT INTO experiment_names (rowid, name) VALUES (NEW.id, NEW.name);
END;

CREATE TRIGGER experiment_names_update AFTER UPDATE OF id, name ON experiments BEGIN
    DELETE FROM experiment_names WHERE rowid = OLD.id;
    INSERT INTO experiment_names (rowid, name) VALUES (NEW.id, NEW.name);
END;

CREATE TRIGGER experiment_names_delete AFTER DELETE ON experiments BEGIN
    DELETE FROM experiment_names WHERE rowid = OLD.id;
END;
