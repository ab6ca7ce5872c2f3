-- `q=` text search through a trigram index (FTS5's `trigram` tokenizer: any substring of
-- three characters or more, case-insensitive), so a search is a lookup, not a scan of the
-- table (2.8 s at 1,000,000 assets, `cargo xtask bench api`). Contentless: it keeps the
-- trigrams only, not a second copy of the text. Its rowid is the asset's rowid, which VACUUM
-- may renumber, so the store rebuilds it after every VACUUM; and a search checks each
-- candidate against the asset's own columns, so a stale index can miss an asset but never
-- return one that does not match. Triggers keep it in step with every write.
CREATE VIRTUAL TABLE assets_search USING fts5(
    key, name, owner, location, tags,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);

INSERT INTO assets_search (rowid, key, name, owner, location, tags)
    SELECT rowid, key, name, owner, location, tags FROM assets;

CREATE TRIGGER assets_search_insert AFTER INSERT ON assets BEGIN
    INSERT INTO assets_search (rowid, key, name, owner, location, tags)
        VALUES (NEW.rowid, NEW.key, NEW.name, NEW.owner, NEW.location, NEW.tags);
END;

CREATE TRIGGER assets_search_update AFTER UPDATE OF key, name, owner, location, tags ON assets BEGIN
    DELETE FROM assets_search WHERE rowid = OLD.rowid;
    INSERT INTO assets_search (rowid, key, name, owner, location, tags)
        VALUES (NEW.rowid, NEW.key, NEW.name, NEW.owner, NEW.location, NEW.tags);
END;

CREATE TRIGGER assets_search_delete AFTER DELETE ON assets BEGIN
    DELETE FROM assets_search WHERE rowid = OLD.rowid;
END;
