// Package promo is cartstream's promotion engine (DESIGN §5): it evaluates a
// cart against the catalog's products and promotions at an event time and
// returns the evaluated offer — price per line, which promotions applied
// with their per-line allocations, which did not and why, and hints.
//
// The package owns:
//
//   - [Index]: the promotions, indexed by the SKUs, categories and brands they
//     target, the cart-wide list (promotions that target every line) and the
//     coupon codes (case-insensitive). It is kept current with
//     [Index.Upsert] and [Index.Delete] as promotions change. Evaluation
//     touches only promotions indexed under the cart's SKUs, categories and
//     brands, the cart-wide ones and the cart's coupons, so its cost does not
//     grow with promotions that target none of the cart's lines.
//   - [Evaluate], [Evaluator.Evaluate] and [Evaluator.EvaluateInto] (which
//     reuses the offer's memory on the hot path): the semantics of §5 exactly —
//     candidates, conditions, targets, every effect, unit ordering, stacking
//     (exclusive, stackable, stop), max_discount, rounding and largest
//     remainder, not_applied reasons and hints.
//   - [Offer] and its JSON form ([Offer.MarshalJSON]): every field of §5 in
//     its order, null where absent, money as decimal strings.
//   - [ParseCart], [ParseProduct], [ParsePromotion]: the JSON inputs of
//     `cartstream evaluate` and POST /v1/evaluate.
//
// Money is int64 minor units of the cart's currency ([money.Amount]); every
// percentage is rounded once per line with the configured mode (half-even by
// default) and every proportional spread uses the largest-remainder method
// with ties to the SKU that sorts first, so allocations always sum exactly to
// each promotion's discount and no line goes below zero.
//
// This package must never do I/O, read a clock (the event time is an
// argument), know about Kafka or goka, or keep package-level mutable state.
// Decisions where §5 leaves room are documented on the code that makes them
// and collected in docs/promotions.md.
package promo
