package query

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lovoo/goka/storage"

	"cartstream/internal/partition"
	"cartstream/internal/streams"
	"cartstream/processors/carts"
	"cartstream/topology"
)

// fakeRouter is a settable ownership view.
type fakeRouter struct {
	mu     sync.Mutex
	owner  map[int32]Member
	settle bool
}

func (f *fakeRouter) Owner(_ string, p int32) (Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.settle {
		return Member{}, ErrRebalancing
	}
	return f.owner[p], nil
}

type node struct {
	svc    *Service
	srv    *httptest.Server
	stores *streams.Stores
}

// cluster starts two instances, a and b, sharing one router; a holds the
// carts store of every partition.
func cluster(t *testing.T, token string) (a, b *node, router *fakeRouter) {
	t.Helper()
	topo := topology.New(topology.Config{Partitions: 4})
	router = &fakeRouter{owner: map[int32]Member{}, settle: true}
	mk := func(id string) *node {
		n := &node{stores: streams.NewStores()}
		mux := http.NewServeMux()
		n.srv = httptest.NewServer(mux)
		t.Cleanup(n.srv.Close)
		n.svc = New(Config{Topology: topo, Self: Member{InstanceID: id, HTTP: strings.TrimPrefix(n.srv.URL, "http://")},
			Router: router, Stores: n.stores, Partitions: map[string]int32{topology.SetCarts: 4, topology.SetInventory: 4},
			Lag: func(string, int32) int64 { return 0 }, Token: token})
		n.svc.Register(mux)
		return n
	}
	a, b = mk("a"), mk("b")
	g, _ := topo.Group(topology.GroupCarts)
	build := a.stores.Wrap(func(string, int32) (storage.Storage, error) { return storage.NewMemory(), nil })
	for p := int32(0); p < 4; p++ {
		st, err := build(g.Table, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkRecovered(); err != nil {
			t.Fatal(err)
		}
		router.owner[p] = a.svc.cfg.Self
	}
	c := &carts.Cart{ID: "c-1", Version: 3, Currency: "USD", Lines: []carts.Line{{SKU: "A", Qty: 2}}}
	data, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := a.stores.Get(g.Table, partition.For([]byte("c-1"), 4))
	if err := st.Set("c-1", data); err != nil {
		t.Fatal(err)
	}
	return a, b, router
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func get(t *testing.T, url, token string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("GET %s: body is not JSON: %s", url, raw)
	}
	return r
}

func TestKeyedQueries(t *testing.T) {
	a, b, router := cluster(t, "s3cret")
	p := partition.For([]byte("c-1"), 4)
	cases := []struct {
		name    string
		node    *node
		path    string
		token   string
		settle  bool
		header  []string
		status  int
		code    string
		servedB string
		via     string
		stale   string
	}{
		{name: "owner answers", node: a, path: "/v1/carts/c-1", token: "s3cret", settle: true, status: 200, servedB: "a"},
		{name: "forwarded once", node: b, path: "/v1/carts/c-1", token: "s3cret", settle: true, status: 200, servedB: "a", via: "b"},
		{name: "unknown cart", node: b, path: "/v1/carts/nope", token: "s3cret", settle: true, status: 404, code: CodeNotFound, servedB: "a", via: "b"},
		{name: "no token", node: a, path: "/v1/carts/c-1", settle: true, status: 401, code: CodeUnauthorized},
		{name: "wrong token", node: a, path: "/v1/carts/c-1", token: "guess", settle: true, status: 401, code: CodeUnauthorized},
		{name: "rebalancing", node: a, path: "/v1/carts/c-1", token: "s3cret", status: 503, code: CodeRebalancing},
		{name: "stale read allowed", node: a, path: "/v1/carts/c-1?stale=ok", token: "s3cret", status: 200, servedB: "a", stale: "true"},
		{name: "stale read without a copy", node: b, path: "/v1/carts/c-1?stale=ok", token: "s3cret", status: 503, code: CodeRebalancing},
		{name: "never forwarded twice", node: b, path: "/v1/carts/c-1", token: "s3cret", settle: true, header: []string{HeaderVia, "a"}, status: 503, code: CodeRebalancing},
		{name: "bad sku", node: a, path: "/v1/inventory/%00x", token: "s3cret", settle: true, status: 400, code: CodeBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			router.mu.Lock()
			router.settle = c.settle
			router.mu.Unlock()
			r := get(t, c.node.srv.URL+c.path, c.token, c.header...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %v", r.status, c.status, r.body)
			}
			if c.code != "" && r.body["code"] != c.code {
				t.Errorf("code %v, want %s", r.body["code"], c.code)
			}
			if got := r.header.Get(HeaderServedBy); got != c.servedB {
				t.Errorf("served by %q, want %q", got, c.servedB)
			}
			if got := r.header.Get(HeaderVia); got != c.via {
				t.Errorf("via %q, want %q", got, c.via)
			}
			if got := r.header.Get(HeaderStale); got != c.stale {
				t.Errorf("stale %q, want %q", got, c.stale)
			}
			if c.status == 503 && r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if c.status == 200 {
				if r.body["cart_id"] != "c-1" || r.body["cart_version"] != float64(3) || r.body["checkout"] != nil {
					t.Errorf("body %v", r.body)
				}
				if r.header.Get(HeaderPartition) != itoa(p) {
					t.Errorf("partition header %q, want %d", r.header.Get(HeaderPartition), p)
				}
			}
		})
	}
}

func itoa(p int32) string { return strconv.Itoa(int(p)) }
