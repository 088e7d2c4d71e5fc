-- ReserveIDRange is idempotent by claim key: a retried activity finds the block its first
-- attempt claimed instead of claiming (and wasting) another one.
ALTER TABLE id_range_claims ADD COLUMN IF NOT EXISTS claim_key VARCHAR(255) NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_claim_key ON id_range_claims (entity_type, claim_key);
