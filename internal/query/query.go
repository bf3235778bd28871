// Package query answers DESIGN §7's interactive queries over HTTP from the
// instance's local state, and forwards a query for a key another instance
// owns to that instance, once.
//
// Ownership comes from the consumer groups themselves (a Router, backed by
// internal/membership): the partition of a key is Kafka's murmur2 rule, its
// owner the group member assigned that partition. An instance answers as
// fresh only when the group says it owns the partition AND its local store
// of that partition is open and recovered; when either is not so (a
// rebalance in flight, a store still restoring) the answer is 503
// `rebalancing` with Retry-After, or, with ?stale=ok, whatever local copy
// there is, marked stale. A forwarded request that reaches an instance which
// does not own the key either is not forwarded again: the views disagree, so
// the group is rebalancing.
//
// Bodies hold state only; where it came from and how fresh it is go in the
// X-Cartstream-* headers.
package query

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lovoo/goka/storage"

	"cartstream/internal/partition"
	"cartstream/internal/streams"
	"cartstream/topology"
)

// Response headers (DESIGN §7).
const (
	HeaderPartition = "X-Cartstream-Partition"
	HeaderOwner     = "X-Cartstream-Owner"
	HeaderServedBy  = "X-Cartstream-Served-By"
	HeaderLag       = "X-Cartstream-Lag"
	// HeaderStale is "true" on an answer from a copy this instance does not
	// own (?stale=ok during a rebalance).
	HeaderStale = "X-Cartstream-Stale"
	// HeaderVia names the instance that forwarded the request; a request
	// carrying it is never forwarded again.
	HeaderVia = "X-Cartstream-Via"
)

// Error codes of the {"code","message"} body.
const (
	CodeNotFound     = "not_found"
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeRebalancing  = "rebalancing"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// ErrRebalancing is what a Router returns while a group has no settled
// owner for a partition.
var ErrRebalancing = errors.New("query: group is rebalancing")

// errAbsent is what a render returns for a stored value that stands for no
// entity yet: the answer is 404, as for a missing key.
var errAbsent = errors.New("query: no such entity")

// Member is an instance as the groups see it.
type Member struct {
	InstanceID string
	// HTTP is the advertised address other instances use (host:port, or a
	// URL with scheme).
	HTTP string
}

// Router says which member owns a partition of a group (by Kafka group
// id). It returns ErrRebalancing (possibly wrapped) while the group is not
// settled.
type Router interface {
	Owner(groupID string, partition int32) (Member, error)
}

// Config wires a Service.
type Config struct {
	Topology *topology.Topology
	Self     Member
	Router   Router
	Stores   *streams.Stores
	// Partitions is the partition count of each co-partitioned set
	// (topology.SetCarts, topology.SetInventory).
	Partitions map[string]int32
	// Lag returns a group's consumer lag on a partition, in records; nil
	// or a negative answer omits the header.
	Lag func(groupID string, partition int32) int64
	// StreamTime returns a group's stream time on a partition (the zero
	// time when unknown); inventory answers are computed at it.
	StreamTime func(groupID string, partition int32) time.Time
	// Client forwards requests; nil uses a client with a 10 s timeout.
	Client *http.Client
	// Scheme of forwarded requests when the advertised address has none:
	// "http" (default) or "https".
	Scheme string
	// Token, when set, is the bearer token every /v1 request must carry.
	Token string
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
	// Catalog serves products, promotions, offers and evaluations.
	Catalog *Catalog
	// Status renders GET /v1/status.
	Status func(ctx context.Context) (any, error)
}

// Service serves the query routes.
type Service struct {
	cfg    Config
	routes []route
}

// route is one served route, for the OpenAPI check.
type route struct{ method, pattern string }

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	return &Service{cfg: cfg}
}

// Routes lists the routes Register serves, as "METHOD /pattern".
func (s *Service) Routes() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.method + " " + r.pattern
	}
	return out
}

// Register mounts the routes on mux.
func (s *Service) Register(mux *http.ServeMux) {
	s.handle(mux, "GET", "/v1/carts/{id}", s.cart)
	s.handle(mux, "GET", "/v1/offers/{cart_id}", s.offer)
	s.handle(mux, "GET", "/v1/inventory/{sku}", s.inventory)
	s.handle(mux, "GET", "/v1/products/{sku}", s.product)
	s.handle(mux, "GET", "/v1/promotions/{id}", s.promotion)
	s.handle(mux, "POST", "/v1/evaluate", s.evaluate)
	s.handle(mux, "GET", "/v1/topology", s.topology)
	s.handle(mux, "GET", "/v1/status", s.status)
}

func (s *Service) handle(mux *http.ServeMux, method, pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, route{method, pattern})
	mux.Handle(method+" "+pattern, s.auth(http.MaxBytesHandler(h, s.cfg.MaxBody)))
}

// auth checks the bearer token in constant time.
func (s *Service) auth(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cartstream"`)
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// keyed answers a query for key in a group's table: locally when this
// instance owns its partition, by forwarding once otherwise. render turns
// the stored value into the body.
func (s *Service) keyed(w http.ResponseWriter, r *http.Request, groupName, key string, render func(int32, []byte) (any, error)) {
	g, ok := s.cfg.Topology.Group(groupName)
	if !ok {
		writeError(w, http.StatusInternalServerError, CodeInternal, "group "+groupName+" not in the topology")
		return
	}
	n := s.cfg.Partitions[g.CoPartitionSet]
	if n <= 0 {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "partition count of "+groupName+" not known yet")
		return
	}
	p := partition.For([]byte(key), n)
	stale := r.URL.Query().Get("stale") == "ok"
	owner, err := s.cfg.Router.Owner(g.ID, p)
	switch {
	case err != nil:
		s.unsettled(w, g, p, key, stale, render, err)
	case owner.InstanceID != s.cfg.Self.InstanceID:
		if r.Header.Get(HeaderVia) != "" {
			// The forwarder thinks we own it; we think someone else does.
			s.unsettled(w, g, p, key, stale, render, fmt.Errorf("%w: owners disagree", ErrRebalancing))
			return
		}
		s.forward(w, r, owner, p)
	default:
		st, recovered := s.cfg.Stores.Get(g.Table, p)
		if st == nil || !recovered {
			s.unsettled(w, g, p, key, stale, render, fmt.Errorf("%w: partition %d not recovered here yet", ErrRebalancing, p))
			return
		}
		s.local(w, st, g, p, key, false, render)
	}
}

// unsettled answers while ownership is unclear: 503, or the local copy when
// the client accepts a stale read and one exists.
func (s *Service) unsettled(w http.ResponseWriter, g topology.Group, p int32, key string, stale bool, render func(int32, []byte) (any, error), why error) {
	if stale {
		if st, _ := s.cfg.Stores.Get(g.Table, p); st != nil {
			s.local(w, st, g, p, key, true, render)
			return
		}
	}
	w.Header().Set("Retry-After", "1")
	w.Header().Set(HeaderPartition, strconv.Itoa(int(p)))
	writeError(w, http.StatusServiceUnavailable, CodeRebalancing, why.Error())
}

// local answers from this instance's store of the partition.
func (s *Service) local(w http.ResponseWriter, st storage.Storage, g topology.Group, p int32, key string, stale bool, render func(int32, []byte) (any, error)) {
	data, err := st.Get(key)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "local store: "+err.Error())
		return
	}
	h := w.Header()
	h.Set(HeaderPartition, strconv.Itoa(int(p)))
	h.Set(HeaderServedBy, s.cfg.Self.InstanceID)
	if !stale {
		h.Set(HeaderOwner, s.cfg.Self.InstanceID)
	} else {
		h.Set(HeaderStale, "true")
	}
	if s.cfg.Lag != nil {
		if lag := s.cfg.Lag(g.ID, p); lag >= 0 {
			h.Set(HeaderLag, strconv.FormatInt(lag, 10))
		}
	}
	var body any
	if data != nil {
		body, err = render(p, data)
	}
	if data == nil || errors.Is(err, errAbsent) {
		writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no %s for key %q", g.Name, key))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// forward sends the request to the owner once and relays its answer.
func (s *Service) forward(w http.ResponseWriter, r *http.Request, owner Member, p int32) {
	base := owner.HTTP
	if !strings.Contains(base, "://") {
		base = s.cfg.Scheme + "://" + base
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		writeError(w, http.StatusInternalServerError, CodeInternal, "forward: "+err.Error())
		return
	}
	for _, k := range []string{"Authorization", "Content-Type", "Accept"} {
		if v := r.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set(HeaderVia, s.cfg.Self.InstanceID)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		w.Header().Set(HeaderPartition, strconv.Itoa(int(p)))
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, fmt.Sprintf("owner %s at %s unreachable: %v", owner.InstanceID, owner.HTTP, err))
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set(HeaderVia, s.cfg.Self.InstanceID)
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is DESIGN §7's error shape.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Code: code, Message: msg})
}
