package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Defaults of New and its options.
const (
	// DefaultInterval is how often Run polls when New is given an
	// interval <= 0: one DescribeGroups request per coordinator per
	// second, per instance.
	DefaultInterval = 1 * time.Second
	// DefaultMaxAge is the least age at which Owner reports a view as
	// stale (ErrStale), unless WithMaxAge says otherwise; the default is
	// the larger of this and three poll intervals. It is of the order of
	// sarama's session timeout (10 s): the broker itself may keep a dead
	// member as owner that long, so a view this old is not much worse.
	DefaultMaxAge = 15 * time.Second
)

// Option configures a Watcher.
type Option func(*options)

type options struct {
	topics map[string]string
	maxAge time.Duration
	log    *slog.Logger
	now    func() time.Time
}

// WithTopic makes the partitions of topic, and only those, the partitions
// of group. By default a member's partitions are those of every topic in its
// assignment (under goka's copartitioning strategy they are the same
// numbers for each); name the topic when a group's assignment may hold
// topics of different partition counts.
func WithTopic(group, topic string) Option {
	return func(o *options) {
		if o.topics == nil {
			o.topics = map[string]string{}
		}
		o.topics[group] = topic
	}
}

// WithMaxAge sets the age past which Owner stops trusting a group's view and
// returns ErrStale (the watcher's polls have been failing that long).
// Default: the larger of DefaultMaxAge and three poll intervals. A value
// < 0 disables the check: Owner answers from the last good view however old.
func WithMaxAge(d time.Duration) Option {
	return func(o *options) { o.maxAge = d }
}

// WithLogger sets where poll failures (and recoveries) and group state
// changes are logged; failures are logged once per distinct error, not on
// every poll. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// withClock replaces time.Now, for tests.
func withClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Watcher keeps the latest view of who owns which partition of a set of
// consumer groups, read from the broker with DescribeGroups.
//
// Its methods are safe for concurrent use. Owner and Snapshot never block
// on Kafka: they read the view the last successful poll left.
type Watcher struct {
	adm      *kadm.Client
	groups   []string
	interval time.Duration
	opts     options

	// sem serializes polls (a buffered channel rather than a mutex so a
	// Refresh waiting for its turn honours its context); polls counts
	// polls started, lastErr is the result of the latest one. Together
	// they let Refresh calls that queue behind a poll share the next one.
	sem     chan struct{}
	polls   atomic.Uint64
	lastErr error

	mu    sync.RWMutex
	views map[string]*view
}

// New returns a watcher of groups (Kafka group ids) that polls every
// interval once Run is called (interval <= 0 means DefaultInterval). It
// sends nothing until Run or Refresh.
func New(adm *kadm.Client, groups []string, interval time.Duration, opts ...Option) *Watcher {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Watcher{
		adm:      adm,
		groups:   dedup(groups),
		interval: interval,
		sem:      make(chan struct{}, 1),
		views:    map[string]*view{},
	}
	for _, o := range opts {
		o(&w.opts)
	}
	if w.opts.maxAge == 0 {
		w.opts.maxAge = max(DefaultMaxAge, 3*interval)
	}
	if w.opts.log == nil {
		w.opts.log = slog.New(slog.DiscardHandler)
	}
	if w.opts.now == nil {
		w.opts.now = time.Now
	}
	return w
}

func dedup(groups []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		if g != "" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// Run polls at once and then every interval until ctx ends, when it returns
// nil. A failed poll does not stop it: the error is logged and recorded in
// the group's view (GroupView.Err), and the last good view stays in place.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		if err := w.Refresh(ctx); err != nil && ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Ready reports whether every group has been read successfully at least
// once, so Owner no longer answers ErrUnknownGroup for a watched group.
func (w *Watcher) Ready() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.views) == len(w.groups)
}

// Refresh reads every group from the broker now and returns the first
// failure (views of groups that could be read are updated anyway). Calls
// that arrive while a poll is under way wait for it to end and then share
// one new poll, so a burst of Refresh calls (say, from requests that found
// an owner unreachable) costs at most two requests.
func (w *Watcher) Refresh(ctx context.Context) error {
	asked := w.polls.Load()
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.sem }()
	if w.polls.Load() > asked {
		// A poll started after this call and has ended: use its result.
		return w.lastErr
	}
	w.polls.Add(1)
	w.lastErr = w.poll(ctx)
	return w.lastErr
}

// poll describes every group and installs the new views. The caller holds
// sem.
func (w *Watcher) poll(ctx context.Context) error {
	if len(w.groups) == 0 {
		return nil
	}
	polled := w.opts.now()
	described, err := w.adm.DescribeGroups(ctx, w.groups...)
	var firstErr error
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.groups {
		prev := w.views[g]
		d, ok := described[g]
		var gerr error
		switch {
		case !ok && err != nil:
			gerr = err
		case !ok:
			gerr = errors.New("not in the DescribeGroups response")
		case errors.Is(d.Err, kerr.GroupIDNotFound):
			// DescribeGroups v6+ reports a group that does not exist
			// with this error; older versions as state Dead.
			d.State, d.Members, d.Err = StateDead, nil, nil
		case d.Err != nil:
			gerr = d.Err
			if d.ErrMessage != "" {
				gerr = fmt.Errorf("%w: %s", d.Err, d.ErrMessage)
			}
		}
		if gerr != nil {
			gerr = fmt.Errorf("membership: describe group %s: %w", g, gerr)
			if firstErr == nil {
				firstErr = gerr
			}
			if prev == nil || prev.Err != gerr.Error() {
				w.opts.log.Warn("cannot read consumer group; keeping the last view", "group", g, "error", gerr)
			}
			if prev != nil {
				failed := *prev
				failed.Err = gerr.Error()
				w.views[g] = &failed
			}
			continue
		}
		v := buildView(g, d.State, rawMembers(d), w.opts.topics[g], polled, prev)
		switch {
		case prev == nil:
			w.opts.log.Debug("consumer group read", "group", g, "state", v.State, "members", len(v.Members))
		case prev.Err != "":
			w.opts.log.Info("consumer group readable again", "group", g, "state", v.State)
		case prev.State != v.State:
			w.opts.log.Debug("consumer group state changed", "group", g, "from", prev.State, "to", v.State, "members", len(v.Members))
		}
		w.views[g] = v
	}
	return firstErr
}

// rawMembers extracts the consumer-protocol metadata and assignment of a
// described group's members. The broker returns them only while the group
// is Stable; otherwise (and for groups of another protocol type) they are
// left nil.
func rawMembers(d kadm.DescribedGroup) []rawMember {
	out := make([]rawMember, 0, len(d.Members))
	for _, m := range d.Members {
		rm := rawMember{memberID: m.MemberID, clientID: m.ClientID, clientHost: m.ClientHost}
		if d.State == StateStable {
			if meta, ok := m.Join.AsConsumer(); ok {
				rm.meta = meta
			}
			if a, ok := m.Assigned.AsConsumer(); ok {
				rm.assign = a
			}
		}
		out = append(out, rm)
	}
	return out
}

// Owner returns the instance that owns partition of group, as of the last
// successful poll. Errors (test with errors.Is):
//   - ErrUnknownGroup: the group is not watched, or not read successfully yet;
//   - ErrStale: the last successful read is older than the maximum age;
//   - ErrRebalancing: the group is not Stable, or the partition has no owner;
//   - ErrUnroutable: the partition is held by a member that is not a
//     cartstream instance.
//
// The answer may be out of date by up to a poll interval plus the broker's
// own failure detection (see the package documentation): a caller routing a
// request must let the instance it routes to check ownership locally.
func (w *Watcher) Owner(group string, partition int32) (Member, error) {
	w.mu.RLock()
	v, ok := w.views[group]
	w.mu.RUnlock()
	if !ok {
		return Member{}, fmt.Errorf("%w: %s", ErrUnknownGroup, group)
	}
	return v.lookup(partition, w.opts.now(), w.opts.maxAge)
}

// Snapshot returns every group's view that has been read at least once,
// keyed by group id: state, members (foreign ones included), owners and the
// latest poll error. The result is a copy; the caller may keep or modify it.
func (w *Watcher) Snapshot() map[string]GroupView {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make(map[string]GroupView, len(w.views))
	for g, v := range w.views {
		out[g] = v.GroupView.clone()
	}
	return out
}
