// Package loadgen drives launch-day load into a running cartstream
// (`cartstream loadgen`): cart events at a target rate in wall time, from
// the shop simulator's storefront driver (shopsim.Driver), with the
// checkout statuses cartstream answers fed back to it, so that orders,
// completions and abandons follow real reservations.
//
// # One generator
//
// Everything a cart does comes from shopsim.Driver with a session plan:
// most carts browse (add, change quantities, remove, try coupons of the
// demo catalog and some unknown codes) and leave; the others check out
// and, once cartstream reserves, place the order in the simulated database
// (inventory CDC and an outbox record) and complete, or abandon, edit or
// walk away. SKUs are Zipf-popular; a flash sale puts one SKU in every cart.
// A few events and connector records are delivered twice, and outbox
// records may overtake their inventory changes.
//
// # Ids and versions
//
// cartstream's inventory rows follow the database's versions (DESIGN §4,
// §6): a second writer of the same rows, starting again at version 1,
// would contradict the stack's own history. So loadgen writes to rows no
// one else writes: it first creates its own products and inventory rows,
// through the same Debezium records a database insert would produce,
// under a namespace (Config.Namespace, default "lg<seed>"): SKUs
// <namespace>-SKU-00001 and up, copies of the demo catalog's products
// (same categories, brands and prices, so the demo promotions apply), and
// carts, checkouts and orders <namespace>-c000001…. Its simulated
// database then owns those rows from version 1 on. It waits until
// cartstream has applied them before the first cart event.
//
// Runs with different namespaces never collide. Reusing one on the same
// cluster would reuse every id (cartstream would drop the repeated event
// ids as duplicates) and restart the rows at version 1, so Run refuses a
// namespace whose products are already in the products topic
// (ErrNamespaceUsed): pick another seed or namespace, or start the stack
// on an empty data dir.
//
// # Time
//
// A cart event's ts is believed only within ±5 minutes (--max-skew) of the
// broker's LogAppendTime (DESIGN §2), and CDC records move the inventory
// group's stream time, so the simulated clock must follow the wall clock.
// The driver is paced: every call moves its clock to the wall clock and
// emits what the token bucket allows, and the simulated database's
// transactions overlap that clock (shopsim.DriverOptions.OverlapTransactions)
// instead of adding their gaps to it. Cart events carry the wall clock as
// ts, an order's records at most shopsim.MaxTransactionLead (about 2.5 s)
// more. The stack's own ticks carry the wall clock too, so hold expiry and
// dedup retention run on the wall clock as for any storefront.
//
// # Determinism
//
// A seed fixes which carts do what: cart n adds the same SKUs, changes,
// coupons, checkout ids and fates in every run with that seed, as long as
// cartstream answers its checkouts alike (ample stock). When carts arrive
// and how their events interleave follow the wall clock and the statuses,
// as they must for a closed loop at a rate.
//
// The package never builds a Kafka client itself (Config.NewClient does,
// with the cluster's security settings), never decodes cartstream's
// internal records and holds no package-level mutable state.
package loadgen
