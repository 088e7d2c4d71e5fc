-- The entity-diff workflow's durable state per entity: the last revision whose rdf_change
-- events reached Kafka. It outlives the per-entity workflow runs (a run ends when the entity
-- has been idle), makes a retried publish a no-op, and lets a new run drop events it has
-- already covered.
CREATE TABLE IF NOT EXISTS entity_diff_state (
  entity_id    VARCHAR(50)  NOT NULL PRIMARY KEY,
  revision_id  BIGINT       NOT NULL,
  -- The last published change was a delete: the next revision is published as an import.
  is_deleted   BOOLEAN      NOT NULL DEFAULT FALSE,
  parts        INT          NOT NULL,
  published_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;
