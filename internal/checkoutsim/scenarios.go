package checkoutsim

import (
	"time"

	"cartstream/internal/reserve"
	"cartstream/internal/shopsim"
)

// Defaults of the FlashSale scenario (make flash-sale).
const (
	FlashSaleCarts = 10_000
	FlashSaleUnits = 100
)

// FlashSale is one SKU with units units and carts carts that each add one
// unit and check out at the same simulated instant; 10% of cart events are
// delivered twice (up to a simulated second later) and half the orders'
// outbox records overtake their inventory changes. Everyone who gets a
// hold completes on time, so a correct run reserves and sells exactly
// units units and fails every other checkout with insufficient_stock. The
// hold TTL is DESIGN §6's default, 10 minutes, which the simulated
// database's ~1 s per order needs for 100 orders.
func FlashSale(seed int64, carts, units int) Scenario {
	return Scenario{
		Name:  "flash-sale",
		Seed:  seed,
		Stock: []int32{int32(units)},
		Driver: shopsim.DriverOptions{
			Carts: carts, MaxLines: 1, MaxQty: 1,
			DuplicateRate: 0.1, DuplicateDelay: time.Second,
			OutboxFirstRate: 0.5,
		},
		Partitions: 8,
		HoldTTL:    reserve.DefaultHoldTTL,
	}
}

// Busy is a contended shop with every storefront behaviour on: three hot
// SKUs with little stock and two plentiful ones (Zipf popularity), up to
// three lines of up to two units, duplicates up to a second late, outbox
// records overtaking inventory changes, connector redeliveries, abandoned
// checkouts, walk-aways (whose holds expire), edits mid-checkout, late
// completions, retries of failed checkouts and restocks. Holds live 30 s of
// simulated time; carts arrive every 1.5 s on average, about what the
// simulated database's order throughput sustains. Restarts instance
// restarts are spread over the arrivals.
func Busy(seed int64, carts, restarts int) Scenario {
	return Scenario{
		Name:  "busy",
		Seed:  seed,
		Stock: []int32{50, 40, 30, 300, 1000},
		Driver: shopsim.DriverOptions{
			Carts: carts, Zipf: 1.3, MaxLines: 3, MaxQty: 2,
			ArrivalGap: 1500 * time.Millisecond, ThinkTime: time.Second,
			DuplicateRate: 0.1, DuplicateDelay: time.Second,
			OutboxFirstRate: 0.5, ConnectorDuplicateRate: 0.1,
			AbandonRate: 0.1, WalkAwayRate: 0.1, EditRate: 0.1, LateRate: 0.1, RetryRate: 0.5,
			RestockEvery: 10, RestockQty: 4,
		},
		Partitions: 4,
		HoldTTL:    30 * time.Second,
		Restarts:   restarts,
	}
}
