package instance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"

	"cartstream/internal/membership"
	"cartstream/internal/promo"
	"cartstream/internal/query"
	"cartstream/internal/streams"
	"cartstream/internal/streamtime"
	"cartstream/internal/supervise"
	"cartstream/schemas"
	"cartstream/topology"
)

// ownershipPoll is how often the consumer groups are described for owner
// routing and lag.
const ownershipPoll = time.Second

// queryRoutes mounts /v1/ on the HTTP server before the rest exists: until
// startQueries publishes the query service, /v1 answers 503 unavailable.
func (in *Instance) queryRoutes(mux *http.ServeMux) {
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := in.queries.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"unavailable","message":"the instance is starting"}` + "\n"))
	}))
}

// queryDeps are what the query service reads, built by the components that
// own them.
type queryDeps struct {
	promotions     *promo.Index
	inventoryTimes *streamtime.Partitions
	partitions     map[string]int32
}

// startQueries starts the views the catalog routes read (products,
// latest offers), the membership watcher that routes keyed queries to
// their owner, and a lag poller; then publishes the query service.
func (in *Instance) startQueries(runCtx context.Context, wg *sync.WaitGroup, adm *kadm.Client, factory *streams.Factory, deps queryDeps) {
	n := in.topo.Names
	products := in.supervisedView(runCtx, wg, "products-view", factory, n.ProductsTable, schemas.Codec[schemas.Product]{})
	offers := in.supervisedView(runCtx, wg, "offers-view", factory, n.Offers, new(codec.Bytes))

	cartsG, _ := in.topo.Group(topology.GroupCarts)
	invG, _ := in.topo.Group(topology.GroupInventory)
	watcher := membership.New(adm, []string{cartsG.ID, invG.ID}, ownershipPoll,
		membership.WithTopic(cartsG.ID, n.CartEvents), membership.WithTopic(invG.ID, n.Reservations),
		membership.WithLogger(in.log))
	lags := &lagPoller{adm: adm, groups: map[string][]string{cartsG.ID: cartsG.Inputs, invG.ID: invG.Inputs},
		gauge: in.metrics.ConsumerLag, after: in.measureStores}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := watcher.Run(runCtx); err != nil && runCtx.Err() == nil {
			in.log.Warn("membership watcher stopped", "error", err)
		}
	}()
	go func() {
		defer wg.Done()
		lags.run(runCtx)
	}()

	svc := query.New(query.Config{
		Topology:   in.topo,
		Self:       query.Member{InstanceID: in.cfg.InstanceID, HTTP: in.advertisedHTTP()},
		Router:     router{watcher},
		Stores:     in.stores,
		Partitions: deps.partitions,
		Lag:        lags.lag,
		StreamTime: func(group string, p int32) time.Time {
			if group == invG.ID {
				return deps.inventoryTimes.Now(p)
			}
			return time.Time{}
		},
		Client: in.httpClient(),
		Scheme: in.httpScheme(),
		Token:  in.cfg.HTTPToken,
		Catalog: &query.Catalog{
			Products: func(sku string) (schemas.Product, bool, error) {
				v := products.Load()
				if v == nil {
					return schemas.Product{}, false, errors.New("products view not running")
				}
				x, err := (*v).Get(sku)
				if err != nil {
					return schemas.Product{}, false, err
				}
				p, ok := x.(*schemas.Product)
				if !ok || p == nil {
					return schemas.Product{}, false, nil
				}
				return *p, true, nil
			},
			Promotions: deps.promotions,
			Offer: func(cartID string) ([]byte, error) {
				v := offers.Load()
				if v == nil {
					return nil, errors.New("offers view not running")
				}
				x, err := (*v).Get(cartID)
				if err != nil {
					return nil, err
				}
				b, _ := x.([]byte)
				return b, nil
			},
			Ready: func() bool {
				p, o := products.Load(), offers.Load()
				return p != nil && o != nil && (*p).Recovered() && (*o).Recovered()
			},
		},
		Status: func(ctx context.Context) (any, error) {
			return in.status(watcher, lags), nil
		},
	})
	mux := http.NewServeMux()
	svc.Register(mux)
	var h http.Handler = mux
	in.queries.Store(&h)
}

// supervisedView runs a view of a table under a supervisor and returns the
// pointer to the current incarnation.
func (in *Instance) supervisedView(runCtx context.Context, wg *sync.WaitGroup, name string, factory *streams.Factory, table string, c goka.Codec) *atomic.Pointer[*goka.View] {
	var current atomic.Pointer[*goka.View]
	in.addSupervisor(runCtx, wg, name, func(context.Context) (supervise.Runner, error) {
		v, err := factory.NewView(goka.Table(table), c)
		if err != nil {
			return nil, err
		}
		current.Store(&v)
		return viewRunner{v}, nil
	})
	return &current
}

type viewRunner struct{ v *goka.View }

func (r viewRunner) Run(ctx context.Context) error { return r.v.Run(ctx) }
func (r viewRunner) Ready() bool                   { return r.v.Recovered() }

// router adapts the membership watcher to the query layer: every reason the
// watcher cannot name an owner is a rebalance as far as a client is
// concerned (503 with Retry-After).
type router struct{ w *membership.Watcher }

func (r router) Owner(group string, p int32) (query.Member, error) {
	m, err := r.w.Owner(group, p)
	if err != nil {
		return query.Member{}, fmt.Errorf("%w: %v", query.ErrRebalancing, err)
	}
	return query.Member{InstanceID: m.InstanceID, HTTP: m.HTTP}, nil
}

// lagPoller keeps each group's consumer lag per partition (summed over the
// group's input topics), polled every ownershipPoll.
type lagPoller struct {
	adm    *kadm.Client
	groups map[string][]string // group id → input topics
	gauge  *prometheus.GaugeVec
	// after runs after every poll (store sizes share the cadence).
	after func()

	mu   sync.RWMutex
	lags map[string]map[int32]int64
}

func (l *lagPoller) run(ctx context.Context) {
	t := time.NewTicker(ownershipPoll)
	defer t.Stop()
	for {
		l.poll(ctx)
		if l.after != nil {
			l.after()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *lagPoller) poll(ctx context.Context) {
	ids := make([]string, 0, len(l.groups))
	for g := range l.groups {
		ids = append(ids, g)
	}
	pctx, cancel := context.WithTimeout(ctx, ownershipPoll)
	defer cancel()
	res, err := l.adm.Lag(pctx, ids...)
	if err != nil {
		return
	}
	out := map[string]map[int32]int64{}
	for g, d := range res {
		if d.Error() != nil {
			continue
		}
		parts := map[int32]int64{}
		for _, topic := range l.groups[g] {
			for p, m := range d.Lag[topic] {
				if m.Err == nil {
					parts[p] += m.Lag
				}
			}
		}
		out[g] = parts
		if l.gauge != nil {
			for p, n := range parts {
				l.gauge.WithLabelValues(g, strconv.Itoa(int(p))).Set(float64(n))
			}
		}
	}
	l.mu.Lock()
	l.lags = out
	l.mu.Unlock()
}

// lag returns the last polled lag, -1 when unknown.
func (l *lagPoller) lag(group string, p int32) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if v, ok := l.lags[group][p]; ok {
		return v
	}
	return -1
}

func (l *lagPoller) snapshot() map[string]map[int32]int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lags
}

// measureStores publishes the disk size of every open local store.
func (in *Instance) measureStores() {
	in.stores.Each(func(topic string, p int32, st storage.Storage) {
		if s, ok := st.(interface{ DiskBytes() uint64 }); ok {
			in.metrics.StateStoreBytes.WithLabelValues(topic, strconv.Itoa(int(p))).Set(float64(s.DiskBytes()))
		}
	})
}

// statusBody is GET /v1/status.
type statusBody struct {
	Instance   string                          `json:"instance"`
	HTTP       string                          `json:"advertised_http"`
	Ready      bool                            `json:"ready"`
	Groups     []groupStatus                   `json:"groups"`
	Components []supervise.Status              `json:"components"`
	Lag        map[string]map[int32]int64      `json:"lag"`
	Membership map[string]membership.GroupView `json:"membership"`
}

type groupStatus struct {
	Group       string  `json:"group"`
	State       string  `json:"state"`
	Rebalancing bool    `json:"rebalancing"`
	Owned       []int32 `json:"owned_partitions"`
	Recovered   []int32 `json:"recovered_partitions"`
}

func (in *Instance) status(w *membership.Watcher, lags *lagPoller) statusBody {
	b := statusBody{Instance: in.cfg.InstanceID, HTTP: in.advertisedHTTP(), Ready: true,
		Lag: lags.snapshot(), Membership: w.Snapshot()}
	for _, c := range in.components() {
		st := c.Status()
		b.Components = append(b.Components, st)
		if st.State != supervise.StateReady {
			b.Ready = false
		}
	}
	for _, name := range []string{topology.GroupCarts, topology.GroupInventory} {
		g, _ := in.topo.Group(name)
		gs := groupStatus{Group: g.ID, Owned: []int32{}, Recovered: []int32{}}
		if v, ok := b.Membership[g.ID]; ok {
			gs.State, gs.Rebalancing = v.State, v.Rebalancing
			for _, o := range v.Owners {
				if o.Member.InstanceID == in.cfg.InstanceID {
					gs.Owned = append(gs.Owned, o.Partition)
				}
			}
		}
		for _, p := range in.stores.Partitions(g.Table) {
			if _, rec := in.stores.Get(g.Table, p); rec {
				gs.Recovered = append(gs.Recovered, p)
			}
		}
		b.Groups = append(b.Groups, gs)
	}
	return b
}
