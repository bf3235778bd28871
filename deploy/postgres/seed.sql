-- A small seed catalog for the shop database, shaped like the demo catalog of
-- `cartstream demo seed` (internal/shopsim): SKU-NNNNN products priced in USD,
-- an inventory row at version 1 for each, promotions promo-NNNN covering
-- every effect type, and one order placed through the outbox.
-- Load after schema.sql with: psql -v ON_ERROR_STOP=1 -f seed.sql

BEGIN;

INSERT INTO products (sku, name, category, brand, price, currency, active, updated_at) VALUES
    ('SKU-00001', 'Acme Classic Sneakers',     'shoes',       'Acme',      89.99, 'USD', true,  now()),
    ('SKU-00002', 'Northwind Everyday Socks',  'accessories', 'Northwind',  9.99, 'USD', true,  now()),
    ('SKU-00003', 'Globex Pro Headphones',     'electronics', 'Globex',   149.00, 'USD', true,  now()),
    ('SKU-00004', 'Initech Essential Novel',   'books',       'Initech',   14.49, 'USD', true,  now()),
    ('SKU-00005', 'Hooli Urban Jacket',        'outerwear',   'Hooli',    199.95, 'USD', true,  now()),
    ('SKU-00006', 'Wonka Vintage Mug',         'kitchen',     'Wonka',     12.99, 'USD', false, now());

INSERT INTO inventory (sku, on_hand, version, updated_at) VALUES
    ('SKU-00001', 25,  1, now()),
    ('SKU-00002', 300, 1, now()),
    ('SKU-00003', 4,   1, now()),
    ('SKU-00004', 60,  1, now()),
    ('SKU-00005', 0,   1, now()),
    ('SKU-00006', 12,  1, now());

INSERT INTO promotions (id, name, active, priority, stacking, coupon_code, valid_from, valid_until, segments, currency, condition, target, effect, max_discount) VALUES
    ('promo-0001', '10% off shoes', true, 50, 'stackable', NULL, NULL, NULL, '{}', 'USD',
        '{}', '{"categories": ["shoes"]}', '{"type": "percent_off", "bps": 1000}', NULL),
    ('promo-0002', '$5 off orders of $50 or more', true, 40, 'stackable', 'SAVE5', NULL, NULL, '{}', 'USD',
        '{"min_subtotal": "50.00"}', '{}', '{"type": "amount_off", "amount": "5.00", "per": "cart"}', NULL),
    ('promo-0003', '$1 off every Acme item', true, 30, 'stackable', NULL, NULL, NULL, '{}', 'USD',
        '{}', '{"brands": ["Acme"]}', '{"type": "amount_off", "amount": "1.00", "per": "unit"}', NULL),
    ('promo-0004', 'Any 3 accessories for $25', true, 60, 'stackable', NULL, NULL, NULL, '{}', 'USD',
        '{}', '{"categories": ["accessories"]}', '{"type": "fixed_price", "quantity": 3, "price": "25.00"}', NULL),
    ('promo-0005', 'Buy 2 books, get 1 free', true, 55, 'stackable', NULL, now() - interval '1 day', now() + interval '30 days', '{}', 'USD',
        '{}', '{"categories": ["books"]}', '{"type": "buy_x_get_y", "buy": 2, "get": 1, "bps": 10000, "max_applications": null}', NULL),
    ('promo-0006', 'Spend more, save more', true, 10, 'stackable', NULL, NULL, NULL, '{}', 'USD',
        '{}', '{}', '{"type": "tiered_percent", "tiers": [{"min_subtotal": "50.00", "bps": 500}, {"min_subtotal": "100.00", "bps": 1000}]}', 40.00),
    ('promo-0007', 'Free shipping over $75', true, 5, 'stackable', NULL, NULL, NULL, '{}', 'USD',
        '{"min_subtotal": "75.00"}', '{}', '{"type": "free_shipping"}', NULL),
    ('promo-0008', 'VIP: 20% off everything', true, 90, 'exclusive', NULL, NULL, NULL, '{vip}', 'USD',
        '{}', '{}', '{"type": "percent_off", "bps": 2000}', 100.00),
    ('promo-0009', 'Summer sale (ended)', true, 20, 'stop', 'SUMMER15', now() - interval '90 days', now() - interval '30 days', '{}', 'USD',
        '{}', '{"categories": ["outerwear"]}', '{"type": "percent_off", "bps": 1500}', NULL);

COMMIT;

-- One order, placed as the order service does: in one transaction, each
-- line decrements on_hand and bumps version, and one outbox row records the
-- order with each line's version after its decrement. The CHECK on on_hand
-- makes an oversold order fail as a whole.
BEGIN;

WITH line (sku, qty) AS (
    VALUES ('SKU-00001', 1), ('SKU-00002', 3)
), decremented AS (
    UPDATE inventory AS i
       SET on_hand = i.on_hand - line.qty, version = i.version + 1, updated_at = now()
      FROM line
     WHERE i.sku = line.sku
    RETURNING i.sku, line.qty, i.version
)
INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
SELECT 'order', 'o-seed-1', 'OrderPlaced',
       jsonb_build_object(
           'order_id', 'o-seed-1', 'checkout_id', 'co-seed-1', 'cart_id', 'c-seed-1',
           'lines', jsonb_agg(jsonb_build_object('sku', sku, 'qty', qty, 'inventory_version', version) ORDER BY sku))
  FROM decremented;

COMMIT;
