-- 019: a counter of the changes to what the list's tag and name filters read. A page under a sort
-- reads the ids of its tag (experiment_tags) or the candidates of its name search (the trigram
-- index of 015) before it reads the order's index: about 0.15 ms of a 0.5 ms page at 10^4
-- experiments, the same ids for every page while no name or tag changes. A reader keeps the sets
-- it read with this counter's value and reads them again only when the value moved
-- (server/store/store_idset.c). Ingestion writes neither names nor tags, so a training's rows
-- leave the kept sets valid.
CREATE TABLE list_filter_version (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL
);
INSERT INTO list_filter_version (one, version) VALUES (1, 1);

CREATE TRIGGER list_filter_version_insert AFTER INSERT ON experiments BEGIN
    UPDATE list_filter_version SET version = version + 1 WHERE one = 1;
END;

-- an update that sets a column to its own value (notes written with the tags kept) changes nothing
CREATE TRIGGER list_filter_version_update AFTER UPDATE OF id, name, tags ON experiments
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.tags IS NOT NEW.tags BEGIN
    UPDATE list_filter_version SET version = version + 1 WHERE one = 1;
END;

CREATE TRIGGER list_filter_version_delete AFTER DELETE ON experiments BEGIN
    UPDATE list_filter_version SET version = version + 1 WHERE one = 1;
END;
