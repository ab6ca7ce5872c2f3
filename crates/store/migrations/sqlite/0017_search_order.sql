-- Text searches (`q=`) list assets in the order they were first recorded: on SQLite that is
-- the rowid, which the trigram index of 0016 returns its rows in, so nothing is added here
-- (PostgreSQL's 0017 adds `seq`). VACUUM renumbers rowids but keeps their order. This
-- statement only keeps the backends' migration numbers the same.
SELECT 1;
