-- Writers of entities with explicit IDs (import, seed, sample, and the link targets of their
-- statements) and the ID allocator meet on the id_ranges row of a type (see
-- internal/store/idfloor.go). floor_id is the highest explicit ID a writer announced before
-- creating its mapping rows: the allocator hands out nothing at or below it.
ALTER TABLE id_ranges ADD COLUMN IF NOT EXISTS floor_id BIGINT UNSIGNED NOT NULL DEFAULT 0;
UPDATE id_ranges r SET floor_id = GREATEST(floor_id,
  (SELECT COALESCE(MAX(m.numeric_id), 0) FROM entity_id_mapping m WHERE m.entity_type = r.entity_type));

-- The IDs the allocator has handed out and not had back: disjoint, inclusive runs, each
-- recorded before its caller got it. A writer rejects an explicit ID found here.
CREATE TABLE IF NOT EXISTS id_handouts (
  entity_type VARCHAR(1)      NOT NULL,
  range_start BIGINT UNSIGNED NOT NULL,
  range_end   BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (entity_type, range_start)
) ENGINE=InnoDB;

-- Blocks claimed before hand-outs were recorded: which of their IDs went out is not known, so
-- all of them count as handed out.
INSERT IGNORE INTO id_handouts (entity_type, range_start, range_end)
  SELECT entity_type, range_start, range_end FROM id_range_claims;
