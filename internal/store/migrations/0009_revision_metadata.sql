-- Revision metadata an import keeps from its source (issue 16): a revision's ID is the
-- source's lastrevid, its shown time the source's modified, the page ID the source's pageid.
-- modified_at is the revision's time as dumps and events show it; NULL means created_at (the
-- time it was written, which dump cuts compare with).
ALTER TABLE entity_revisions ADD COLUMN IF NOT EXISTS modified_at DATETIME(6) NULL;
-- The page ID the source gave the entity; NULL means the internal id.
ALTER TABLE entity_head ADD COLUMN IF NOT EXISTS page_id BIGINT UNSIGNED NULL;

-- Revision IDs of local edits come from this one row, kept at or above the highest revision
-- ID ever stored (imported ones included) by every save in its own transaction (see
-- internal/store/revisions.go).
CREATE TABLE IF NOT EXISTS revision_sequence (
  id               TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  last_revision_id BIGINT           NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO revision_sequence (id, last_revision_id)
  SELECT 1, COALESCE(MAX(revision_id), 0) FROM entity_revisions;
