-- The shop database cartstream consumes through Debezium (design §4): the
-- system of record for products, promotions and stock, plus the order
-- outbox. Load with: psql -v ON_ERROR_STOP=1 -f schema.sql
--
-- Debezium's PostgreSQL connector reads it with the pgoutput plugin through
-- the publication at the end (the server needs wal_level=logical). The
-- configuration this schema is written for, and which cartstream's shop
-- simulator (internal/shopsim) reproduces record for record:
--
--   connector.class=io.debezium.connector.postgresql.PostgresConnector
--   plugin.name=pgoutput
--   publication.name=dbz_publication
--   publication.autocreate.mode=disabled
--   topic.prefix=shop                      -> shop.public.<table>
--   table.include.list=public.products,public.promotions,public.inventory,public.outbox
--   key.converter / value.converter=org.apache.kafka.connect.json.JsonConverter (schemas.enable=true)
--   decimal.handling.mode=precise, time.precision.mode=adaptive, tombstones.on.delete=true (defaults)
--   transforms=outbox (io.debezium.transforms.outbox.EventRouter), applied to
--   shop.public.outbox only (a TopicNameMatches predicate), with its defaults:
--   route.by.field=aggregatetype, route.topic.replacement=outbox.event.${routedByValue}
--   -> outbox.event.order, key aggregateid, value payload, header "id"
--
-- Types matter to consumers: numeric(12,2) arrives as a Connect Decimal
-- (scale 2), timestamptz as an io.debezium.time.ZonedTimestamp string, jsonb
-- as an io.debezium.data.Json string, text[] as an array of strings, int as
-- int32 and bigint as int64. NOT NULL makes a field non-optional in the
-- change events' schema, so only the columns the design marks nullable are.
-- No captured data column has a DEFAULT: Debezium would publish a function
-- default such as now() as the epoch in the change events' schema. (outbox.id
-- has one; the router publishes only its value, as the "id" header.)

BEGIN;

CREATE TABLE products (
    sku        text          PRIMARY KEY,
    name       text          NOT NULL,
    category   text          NOT NULL,
    brand      text          NOT NULL,
    price      numeric(12,2) NOT NULL CONSTRAINT products_price_not_negative CHECK (price >= 0),
    currency   char(3)       NOT NULL CONSTRAINT products_currency_iso4217 CHECK (currency ~ '^[A-Z]{3}$'),
    active     boolean       NOT NULL,
    updated_at timestamptz   NOT NULL
);

CREATE TABLE promotions (
    id           text          PRIMARY KEY,
    name         text          NOT NULL,
    active       boolean       NOT NULL,
    priority     int           NOT NULL,
    stacking     text          NOT NULL CONSTRAINT promotions_stacking_known CHECK (stacking IN ('stackable', 'exclusive', 'stop')),
    coupon_code  text          NULL,
    valid_from   timestamptz   NULL,
    valid_until  timestamptz   NULL,
    segments     text[]        NOT NULL,
    currency     char(3)       NOT NULL CONSTRAINT promotions_currency_iso4217 CHECK (currency ~ '^[A-Z]{3}$'),
    condition    jsonb         NOT NULL CONSTRAINT promotions_condition_object CHECK (jsonb_typeof(condition) = 'object'),
    target       jsonb         NOT NULL CONSTRAINT promotions_target_object CHECK (jsonb_typeof(target) = 'object'),
    effect       jsonb         NOT NULL CONSTRAINT promotions_effect_typed CHECK (jsonb_typeof(effect) = 'object' AND coalesce(jsonb_typeof(effect -> 'type') = 'string', false)),
    max_discount numeric(12,2) NULL CONSTRAINT promotions_max_discount_not_negative CHECK (max_discount >= 0),
    CONSTRAINT promotions_window_ordered CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from < valid_until)
);

CREATE TABLE inventory (
    sku        text        PRIMARY KEY,
    -- The database is the last line against overselling: an order that
    -- would take stock below zero fails and its whole transaction (the
    -- outbox row included) rolls back.
    on_hand    int         NOT NULL CONSTRAINT inventory_on_hand_not_negative CHECK (on_hand >= 0),
    -- Bumped by every write; outbox order lines carry the version their
    -- decrement produced, so cartstream can tell when CDC has caught up.
    version    bigint      NOT NULL CONSTRAINT inventory_version_positive CHECK (version >= 1),
    updated_at timestamptz NOT NULL
);

-- Written only by the order service, in the same transaction as its
-- inventory updates; the Outbox Event Router turns each insert into one
-- record on outbox.event.<aggregatetype> keyed by aggregateid. payload stays
-- nullable as in Debezium's reference outbox table, so the router publishes
-- it with an optional io.debezium.data.Json schema.
CREATE TABLE outbox (
    id            uuid  PRIMARY KEY DEFAULT gen_random_uuid(),
    aggregatetype text  NOT NULL,
    aggregateid   text  NOT NULL,
    type          text  NOT NULL,
    payload       jsonb NULL
);

-- REPLICA IDENTITY: DEFAULT (the primary key) on every table, written out so
-- the choice is deliberate.
--   products, promotions, inventory: an UPDATE event carries before = null
--   and a DELETE event only the key (Debezium fills the other NOT NULL
--   columns of before with "", 0, false or the epoch). cartstream keeps the
--   last row per key itself, so it needs no old values; FULL would log every
--   column of every old row to the WAL for nothing.
--   outbox: insert-only; the router ignores before and drops deletes.
ALTER TABLE products   REPLICA IDENTITY DEFAULT;
ALTER TABLE promotions REPLICA IDENTITY DEFAULT;
ALTER TABLE inventory  REPLICA IDENTITY DEFAULT;
ALTER TABLE outbox     REPLICA IDENTITY DEFAULT;

-- Debezium subscribes to exactly these tables (publication.autocreate.mode=disabled).
CREATE PUBLICATION dbz_publication FOR TABLE products, promotions, inventory, outbox;

COMMIT;
