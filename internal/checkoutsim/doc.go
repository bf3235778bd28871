// Package checkoutsim runs whole-system checkout simulations and audits
// their outcome: an embedded broker over TCP, a real cartstream instance
// (internal/instance) against it, a simulated shop database and storefront
// (shopsim.Driver) producing cart events and Debezium records, instance
// restarts mid-stream, and at the end an audit of oversell, double
// application and leaked holds.
//
// # Independence
//
// The audit must not trust the code it audits. It decodes
// cartstream.checkouts itself (encoding/json, checked against the published
// JSON Schema), reservation results with the schemas package, and the
// inventory table with the inventory group's published table decoder
// (inventory.DecodeSKUValue, the one tools and the HTTP API use); it never
// calls processors/carts. The ground truth is the driver's ledger: what the
// simulated database sold and refused, and which completions were on time.
//
// # Time
//
// The simulation runs on the simulated database's clock (shopsim), which
// starts ahead of the wall clock (Scenario.Start) and runs faster than it:
// cart events carry it as ts, Debezium records as their timestamps. The
// instance is configured to believe cart events' ts however far it lies
// from the broker's LogAppendTime (--max-skew of a week), and the harness
// writes ticks carrying the simulated clock into the ticks topics, as an
// instance whose clock is the shop's would. The instance's own ticks carry
// the wall clock, which stays behind, so they never move stream time. Hold
// expiry is thus decided in simulated time only: a hold TTL of 30 s costs
// no wall time, and letting every hold expire at the end is one step of the
// simulated clock. Run fails if the wall clock ever catches up with the
// simulated one.
//
// The package holds no package-level mutable state. Runs are deterministic
// by seed (see shopsim.Driver) except for the timing of the broker and the
// processors, which decides how carts interleave.
package checkoutsim
