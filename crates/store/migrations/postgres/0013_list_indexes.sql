-- Lists by environment or lifecycle status page in key order through their own (field, key)
-- index. Walking the key index until a page was full was fast only when the filter matched
-- early keys: at 1,000,000 assets a page of production assets took 0.86 s because 250,000
-- laptops sort before the first ARN (measured with `cargo xtask bench api`). Indexing every
-- filterable field was measured too: it nearly doubled a 1,000,000-asset import (43.7 s
-- against 23.5 s), so only these two, the policy's most used views, get one; bulk imports
-- into an empty inventory build them after the rows.
CREATE INDEX assets_environment ON assets (environment, key);
CREATE INDEX assets_status ON assets (status, key);
