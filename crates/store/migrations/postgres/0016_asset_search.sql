-- `q=` text search through a trigram index (`pg_trgm`, PostgreSQL's contrib extension), so a
-- search is an index lookup, not a scan of the table (several seconds at 1,000,000 assets,
-- `cargo xtask bench api`). One expression over the searched columns, joined by a unit
-- separator no query holds, so a match never spans two columns; the store's search condition
-- is this same expression. pg_trgm is installed into `public` unless the database has it
-- already (then its own schema's operator class is used); it is a trusted extension, so the
-- database's owner may install it. A user who may not is warned and searches scan the table
-- (correct, only slow) until the index below is made by someone who may.
DO $$
DECLARE
    home text;
BEGIN
    SELECT n.nspname INTO home
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF home IS NULL THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        EXCEPTION
            WHEN unique_violation OR duplicate_object THEN
                -- Another database user installed it at the same moment.
                NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'plumb: cannot install pg_trgm (%); text search scans the table until the database owner runs CREATE EXTENSION pg_trgm and creates the index of migration 0016_asset_search.sql', SQLERRM;
                RETURN;
        END;
        SELECT n.nspname INTO home
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'pg_trgm';
    END IF;
    EXECUTE format(
        'CREATE INDEX assets_search ON assets USING gin ((lower(key || E''\x1f'' || name || E''\x1f'' || '
        'coalesce(owner, '''') || E''\x1f'' || coalesce(location, '''') || E''\x1f'' || tags)) %I.gin_trgm_ops)',
        home
    );
END
$$;
