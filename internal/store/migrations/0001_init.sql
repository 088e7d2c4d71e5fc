-- 0001: the application schema. Table names follow entitybase-backend's (the Python service
-- whose workers these replace) where they exist, so its operators recognise them; everything
-- the jobs need beyond that is added here.

CREATE TABLE IF NOT EXISTS entity_id_mapping (
  entity_id    VARCHAR(50)     NOT NULL PRIMARY KEY,
  -- internal ids are dense (AUTO_INCREMENT), so dumps and stats can page the id space by key.
  internal_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE,
  entity_type  CHAR(1)         NOT NULL,
  numeric_id   BIGINT UNSIGNED NOT NULL,
  created_at   TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_type_numeric (entity_type, numeric_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS entity_head (
  internal_id            BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  head_revision_id       BIGINT          NOT NULL,
  is_semi_protected      BOOLEAN NOT NULL DEFAULT FALSE,
  is_locked              BOOLEAN NOT NULL DEFAULT FALSE,
  is_archived            BOOLEAN NOT NULL DEFAULT FALSE,
  is_dangling            BOOLEAN NOT NULL DEFAULT FALSE,
  is_mass_edit_protected BOOLEAN NOT NULL DEFAULT FALSE,
  is_deleted             BOOLEAN NOT NULL DEFAULT FALSE,
  is_redirect            BOOLEAN NOT NULL DEFAULT FALSE,
  redirects_to           BIGINT UNSIGNED NULL,
  updated_at             TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;

-- One immutable row per revision. content is the entity's Wikibase JSON, compressed; the
-- summary counts let the stats jobs aggregate without decoding content.
CREATE TABLE IF NOT EXISTS entity_revisions (
  internal_id          BIGINT UNSIGNED NOT NULL,
  revision_id          BIGINT          NOT NULL,
  from_revision_id     BIGINT          NOT NULL DEFAULT 0,
  created_at           TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  user_id              BIGINT UNSIGNED NULL,
  edit_type            VARCHAR(100)    NOT NULL DEFAULT '',
  edit_summary         TEXT            NULL,
  is_mass_edit         BOOLEAN         NOT NULL DEFAULT FALSE,
  is_redirect          BOOLEAN         NOT NULL DEFAULT FALSE,
  is_deleted           BOOLEAN         NOT NULL DEFAULT FALSE,
  redirects_to         BIGINT UNSIGNED NULL,
  content_encoding     VARCHAR(16)     NOT NULL DEFAULT 'gzip',
  content              LONGBLOB        NOT NULL,
  content_hash         BINARY(32)      NOT NULL,
  content_bytes        INT UNSIGNED    NOT NULL DEFAULT 0,
  statements           INT UNSIGNED    NOT NULL DEFAULT 0,
  qualifiers           INT UNSIGNED    NOT NULL DEFAULT 0,
  references_count     INT UNSIGNED    NOT NULL DEFAULT 0,
  sitelinks            INT UNSIGNED    NOT NULL DEFAULT 0,
  identifiers          INT UNSIGNED    NOT NULL DEFAULT 0,
  labels               JSON            NOT NULL,
  descriptions         JSON            NOT NULL,
  aliases              JSON            NOT NULL,
  properties           JSON            NOT NULL,
  PRIMARY KEY (internal_id, revision_id),
  KEY idx_created (created_at)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS entity_redirects (
  id               BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
  redirect_from_id BIGINT UNSIGNED NOT NULL,
  redirect_to_id   BIGINT UNSIGNED NOT NULL,
  created_at       TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  created_by       VARCHAR(255)    NULL,
  KEY idx_from (redirect_from_id),
  KEY idx_to (redirect_to_id),
  UNIQUE KEY uq_from_to (redirect_from_id, redirect_to_id)
) ENGINE=InnoDB;

-- One row per statement of an entity's head revision that points at another entity.
CREATE TABLE IF NOT EXISTS entity_backlinks (
  referenced_internal_id  BIGINT UNSIGNED NOT NULL,
  referencing_internal_id BIGINT UNSIGNED NOT NULL,
  statement_id            VARCHAR(100)    NOT NULL,
  property_id             VARCHAR(32)     NOT NULL,
  `rank`                  ENUM('preferred','normal','deprecated') NOT NULL,
  PRIMARY KEY (referenced_internal_id, referencing_internal_id, statement_id),
  KEY idx_backlinks_property (referencing_internal_id, property_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS property_datatypes (
  property_id VARCHAR(32) NOT NULL PRIMARY KEY,
  datatype    VARCHAR(64) NOT NULL,
  updated_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;

-- Written in the same transaction as the revision it announces; a relay publishes it to Kafka.
CREATE TABLE IF NOT EXISTS entity_change_outbox (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  entity_id    VARCHAR(50)     NOT NULL,
  revision_id  BIGINT          NOT NULL,
  payload      JSON            NOT NULL,
  created_at   TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  published_at TIMESTAMP(6)    NULL,
  KEY idx_unpublished (published_at, id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS backlink_statistics (
  date                           DATE   NOT NULL PRIMARY KEY,
  total_backlinks                BIGINT NOT NULL,
  unique_entities_with_backlinks BIGINT NOT NULL,
  top_entities_by_backlinks      JSON   NOT NULL,
  created_at                     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS user_daily_stats (
  stat_date    DATE   NOT NULL PRIMARY KEY,
  total_users  BIGINT NOT NULL,
  active_users BIGINT NOT NULL,
  created_at   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS general_daily_stats (
  stat_date          DATE   NOT NULL PRIMARY KEY,
  total_statements   BIGINT NOT NULL,
  total_qualifiers   BIGINT NOT NULL,
  total_references   BIGINT NOT NULL,
  total_items        BIGINT NOT NULL,
  total_lexemes      BIGINT NOT NULL,
  total_properties   BIGINT NOT NULL,
  total_sitelinks    BIGINT NOT NULL,
  total_terms        BIGINT NOT NULL,
  terms_per_language JSON   NOT NULL,
  terms_by_type      JSON   NOT NULL,
  created_at         TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS users (
  user_id            BIGINT    NOT NULL PRIMARY KEY,
  created_at         TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  preferences        JSON      NULL,
  watchlist_enabled  BOOLEAN   NOT NULL DEFAULT TRUE,
  last_activity      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  notification_limit INT       NOT NULL DEFAULT 50,
  retention_hours    INT       NOT NULL DEFAULT 24
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS watchlist (
  id                 BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id            BIGINT          NOT NULL,
  internal_entity_id BIGINT UNSIGNED NOT NULL,
  -- comma-joined property ids ("P17,P31", sorted); '' watches the whole entity
  watched_properties VARCHAR(1024)   NOT NULL DEFAULT '',
  created_at         TIMESTAMP       NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY unique_watch (user_id, internal_entity_id, watched_properties(255)),
  KEY idx_entity (internal_entity_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS user_notifications (
  id                 BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id            BIGINT       NOT NULL,
  entity_id          VARCHAR(50)  NOT NULL,
  revision_id        BIGINT       NOT NULL,
  change_type        VARCHAR(50)  NOT NULL,
  changed_properties JSON         NULL,
  event_timestamp    TIMESTAMP(6) NOT NULL,
  is_checked         BOOLEAN      NOT NULL DEFAULT FALSE,
  checked_at         TIMESTAMP    NULL,
  created_at         TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_user_entity_revision (user_id, entity_id, revision_id),
  KEY idx_user_timestamp (user_id, event_timestamp),
  KEY idx_entity (entity_id)
) ENGINE=InnoDB;

-- The block of IDs most recently claimed per entity type; version is the compare-and-swap guard.
CREATE TABLE IF NOT EXISTS id_ranges (
  entity_type         VARCHAR(1)      NOT NULL PRIMARY KEY,
  current_range_start BIGINT UNSIGNED NOT NULL DEFAULT 0,
  current_range_end   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  range_size          BIGINT UNSIGNED NOT NULL DEFAULT 1000000,
  allocated_at        TIMESTAMP       NOT NULL DEFAULT CURRENT_TIMESTAMP,
  worker_id           VARCHAR(255)    NULL,
  version             BIGINT          NOT NULL DEFAULT 0
) ENGINE=InnoDB;

-- Every block ever claimed, written in the same transaction as the CAS: proves no block is claimed twice.
CREATE TABLE IF NOT EXISTS id_range_claims (
  entity_type VARCHAR(1)      NOT NULL,
  version     BIGINT          NOT NULL,
  range_start BIGINT UNSIGNED NOT NULL,
  range_end   BIGINT UNSIGNED NOT NULL,
  worker_id   VARCHAR(255)    NOT NULL,
  claimed_at  TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (entity_type, version),
  UNIQUE KEY uq_start (entity_type, range_start)
) ENGINE=InnoDB;

INSERT IGNORE INTO id_ranges (entity_type) VALUES ('Q'), ('P'), ('L'), ('E');
