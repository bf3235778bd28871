// Package registrytest is an in-memory Confluent Schema Registry for tests:
// the two calls cartstream makes (POST /subjects/{subject}/versions and GET
// /schemas/ids/{id}) with the real registry's status codes and error
// bodies, and a switch that makes it answer 503 as a registry in trouble
// does. It is for tests only and never talks to a network of its own.
package registrytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry is a fake schema registry. The zero value is not usable; call
// Start.
type Registry struct {
	// Server is the running HTTP server; its URL is the registry's base URL.
	Server *httptest.Server

	down     atomic.Bool
	requests atomic.Int64

	mu       sync.Mutex
	ids      map[string]int          // schema text → id
	schemas  map[int]string          // id → schema text
	subjects map[string]map[int]bool // subject → ids registered under it
}

// Start starts a fake registry; Close it when done.
func Start() *Registry {
	r := &Registry{ids: map[string]int{}, schemas: map[int]string{}, subjects: map[string]map[int]bool{}}
	r.Server = httptest.NewServer(r)
	return r
}

// URL is the registry's base URL.
func (r *Registry) URL() string { return r.Server.URL }

// Close stops the server.
func (r *Registry) Close() { r.Server.Close() }

// SetDown makes every request fail with HTTP 503 (true) or be served again
// (false).
func (r *Registry) SetDown(down bool) { r.down.Store(down) }

// Requests counts the requests served or refused so far.
func (r *Registry) Requests() int64 { return r.requests.Load() }

// Add registers schema under subject as a producer would and returns its
// id; the same text always gets the same id, as in the real registry.
func (r *Registry) Add(subject, schema string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.ids[schema]
	if !ok {
		id = len(r.ids) + 1
		r.ids[schema] = id
		r.schemas[id] = schema
	}
	if r.subjects[subject] == nil {
		r.subjects[subject] = map[int]bool{}
	}
	r.subjects[subject][id] = true
	return id
}

// Subjects returns each subject with the ids registered under it.
func (r *Registry) Subjects() map[string][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]int{}
	for s, ids := range r.subjects {
		for id := range ids {
			out[s] = append(out[s], id)
		}
	}
	return out
}

func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	if r.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error_code":50003,"message":"Error while forwarding the request to the leader"}`)
		return
	}
	if idText, ok := strings.CutPrefix(req.URL.Path, "/schemas/ids/"); ok && req.Method == http.MethodGet {
		id, err := strconv.Atoi(idText)
		r.mu.Lock()
		schema, found := r.schemas[id]
		r.mu.Unlock()
		if err != nil || !found {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error_code":40403,"message":"Schema %s not found"}`, idText)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"schema": schema})
		return
	}
	if rest, ok := strings.CutPrefix(req.URL.EscapedPath(), "/subjects/"); ok && req.Method == http.MethodPost {
		subject, ok := strings.CutSuffix(rest, "/versions")
		if s, err := url.PathUnescape(subject); ok && err == nil {
			var body struct {
				Schema     string `json:"schema"`
				SchemaType string `json:"schemaType"`
			}
			if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.Schema == "" || !json.Valid([]byte(body.Schema)) {
				w.WriteHeader(http.StatusUnprocessableEntity)
				fmt.Fprint(w, `{"error_code":42201,"message":"Invalid schema"}`)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]int{"id": r.Add(s, body.Schema)})
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"error_code":404,"message":"HTTP 404 Not Found"}`)
}
