// Package membership tells every cartstream instance which instance owns each
// partition of each consumer group, at which advertised HTTP address, and
// whether the group is rebalancing. Interactive queries (DESIGN §7) use it to
// forward a key to its owner and to answer 503 `rebalancing` while ownership
// is moving.
//
// # Design: the consumer group is the directory
//
// Ownership is decided by Kafka's group coordinator: goka's processors join a
// consumer group per group graph, the leader assigns partitions with goka's
// copartitioning strategy, and each member processes what it was given. Any
// other record of "who owns what" (a registry topic, a gossip protocol, a
// key-value store) would be a second source of truth that lags the first and
// can disagree with it. So there is none: every processor's sarama consumer
// puts a small encoding of its instance ({instance id, advertised HTTP
// address}, see EncodeUserData) into the UserData of the member metadata it
// sends in JoinGroup (internal/streams does this for every processor it
// builds), and any instance reads the groups back with DescribeGroups, which
// returns each member's metadata and assignment. The Watcher polls that and
// keeps the latest view. Nothing else is written anywhere, and a member that
// leaves the group leaves the directory with it.
//
// Members whose metadata carries no cartstream encoding (another client
// joined the group under the same protocol) are reported by Snapshot but are
// never owners: the partitions they hold are unroutable (ErrUnroutable) until
// they leave.
//
// # What polling costs
//
// One DescribeGroups request per group coordinator per interval per instance
// (kadm batches the groups that share a coordinator), answered from the
// coordinator's memory. At the default of one second and a handful of groups,
// that is one small request per second per instance; responses grow with the
// number of members, each carrying its topic list, assignment and a few dozen
// bytes of user data.
//
// # How stale the view is, and why that is safe
//
// The broker returns metadata and assignments only while a group is Stable.
// While it is PreparingRebalance or CompletingRebalance (or Empty, or Dead),
// Owner answers ErrRebalancing for every partition; so does it for a Stable
// group's unassigned partition. With goka v1.1.14 and cartstream's sarama
// settings a rebalance lasts seconds, not milliseconds: members notice it at
// their next heartbeat (every 3 s) and goka waits a fixed 5 s after a
// session ends before rejoining, so a join or a clean leave keeps the group
// out of Stable for about 8–9 s (measured against the embedded broker). A
// Retry-After of a few seconds fits.
//
// A view can be out of date by one poll interval plus the request's latency,
// and the broker's own view lags reality: an instance that dies without
// leaving stays a member, owning its partitions, until its session times out
// (sarama's default: 10 s); and a Stable group only means partitions are
// assigned — the new owner may still be restoring its tables from their
// changelogs, and the previous owner stopped processing them at the start of
// the rebalance. If polls fail, Owner keeps answering from the last good view
// until it is older than the maximum age (WithMaxAge), then answers ErrStale.
//
// None of this can make a query return wrong data, provided the HTTP layer
// keeps two rules:
//
//  1. The instance that serves a key checks that it owns the key's partition
//     locally (its goka processor holds the partition, actively, with its
//     tables recovered) before answering as fresh. If it does not, it answers
//     503 `rebalancing` (or serves what it has with `?stale=ok`), whatever
//     the routing instance believed.
//  2. A request is forwarded at most once (DESIGN §7): a forwarded request is
//     marked, and an instance that receives a marked request for a partition
//     it does not own answers 503 instead of forwarding again. A stale view
//     therefore costs one extra hop, never a loop.
//
// An instance that cannot reach the owner named here (connection refused,
// timeout) should answer 503 `unavailable` and may call Refresh, which
// coalesces concurrent calls into one request.
package membership
