-- A digest of what each finding says (Finding::digest), so a run that reports the same again
-- marks it seen in one statement instead of reading back and rewriting every open finding.
-- Rows written before this migration have none and are rewritten once.
ALTER TABLE findings ADD COLUMN digest TEXT;
