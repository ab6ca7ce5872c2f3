-- Who set each inventory field (a person, a tag, a rule), as JSON: a tag never overwrites
-- what a person set. NULL for assets recorded before, read as "nobody known".
ALTER TABLE assets ADD COLUMN provenance TEXT;
