-- `q=` text search through a trigram index (`pg_trgm`, PostgreSQL's contrib extension), so a
-- search is an index lookup, not a scan of the table (several seconds at 1,000,000 assets,
-- `cargo xtask bench api`). One expression over the searched columns, joined by a unit
-- separator no query holds, so a match never spans two columns; the store's search condition
-- is this same expression. pg_trgm is installed into `public` unless the database has it
-- already (then its own schema's operator class is used); it is a trusted extension, so the
-- database's owner may install it.
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
        EXCEPTION WHEN unique_violation OR duplicate_object THEN
            -- Another database user installed it at the same moment.
            NULL;
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
