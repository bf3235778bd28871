package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"cartstream/internal/debezium"
	"cartstream/internal/registry/registrytest"
)

const testSchema = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`

// TestRegisterThenLookUp registers a schema under a subject whose name
// needs escaping, gets the same id on a second registration, and reads the
// schema back by id without another request (Register fills the cache).
func TestRegisterThenLookUp(t *testing.T) {
	reg := registrytest.Start()
	defer reg.Close()
	c := mustNew(t, reg.URL(), Options{})
	ctx := context.Background()
	id, err := c.Register(ctx, "cart events/value", testSchema)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Register(ctx, "cart events/value", testSchema)
	if err != nil || again != id {
		t.Fatalf("second registration: id %d, err %v; want %d", again, err, id)
	}
	if ids := reg.Subjects()["cart events/value"]; len(ids) != 1 || ids[0] != id {
		t.Errorf("subjects = %v", reg.Subjects())
	}
	before := reg.Requests()
	s, err := c.Schema(ctx, id)
	if err != nil || s != testSchema {
		t.Fatalf("Schema(%d) = %q, %v", id, s, err)
	}
	if reg.Requests() != before {
		t.Errorf("Schema after Register asked the registry again")
	}
}

func TestRegisterClassifiesFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		want      error
		transient bool
	}{
		{"incompatible", http.StatusConflict, `{"error_code":409,"message":"Schema being registered is incompatible with an earlier schema"}`, ErrIncompatible, false},
		{"invalid", http.StatusUnprocessableEntity, `{"error_code":42201,"message":"Invalid schema"}`, ErrInvalidSchema, false},
		{"unavailable", http.StatusServiceUnavailable, `{"error_code":50003,"message":"leader unknown"}`, ErrUnavailable, true},
		{"unauthorized", http.StatusUnauthorized, `{"error_code":401,"message":"Unauthorized"}`, ErrUnavailable, true},
		{"malformed success", http.StatusOK, `{"version":3}`, ErrUnavailable, true},
		{"wrong path", http.StatusNotFound, `{"error_code":404,"message":"HTTP 404 Not Found"}`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			_, err := mustNew(t, srv.URL, Options{}).Register(context.Background(), "s-value", testSchema)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if got := errors.Is(err, debezium.ErrTransient); got != tc.transient {
				t.Errorf("transient = %v, want %v (%v)", got, tc.transient, err)
			}
		})
	}
}

func TestRegisterSendsCredentials(t *testing.T) {
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		fmt.Fprint(w, `{"id":7}`)
	}))
	defer srv.Close()
	id, err := mustNew(t, srv.URL, Options{Username: "key", Password: "secret"}).Register(context.Background(), "s-value", testSchema)
	if err != nil || id != 7 {
		t.Fatalf("id %d, err %v", id, err)
	}
	if user != "key" || pass != "secret" {
		t.Errorf("basic auth %q:%q", user, pass)
	}
}
