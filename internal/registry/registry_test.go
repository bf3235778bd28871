package registry

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"cartstream/internal/debezium"
)

// fakeRegistry answers GET /schemas/ids/{id} as Confluent's registry does.
// respond, when set, may take over a request (return true) to misbehave.
type fakeRegistry struct {
	schemas map[int]string
	calls   atomic.Int32
	respond func(w http.ResponseWriter, r *http.Request, call int32) bool
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := f.calls.Add(1)
	if f.respond != nil && f.respond(w, r, call) {
		return
	}
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	idText, ok := strings.CutPrefix(r.URL.Path, "/schemas/ids/")
	if r.Method != http.MethodGet || !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error_code":404,"message":"HTTP 404 Not Found"}`)
		return
	}
	var id int
	if _, err := fmt.Sscan(idText, &id); err != nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error_code":404,"message":"HTTP 404 Not Found"}`)
		return
	}
	schema, ok := f.schemas[id]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error_code":40403,"message":"Schema %d not found"}`, id)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"schema": schema})
}

func readSchema(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inventoryRecord returns a Debezium inventory update as Confluent-framed
// Avro: key with schema id 2, value with schema id 1.
func inventoryRecord(t testing.TB) (key, value []byte) {
	t.Helper()
	frame := func(id int, schema string, native any) []byte {
		codec, err := goavro.NewCodec(schema)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 5)
		binary.BigEndian.PutUint32(out[1:], uint32(id))
		out, err = codec.BinaryFromNative(out, native)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	key = frame(2, readSchema(t, "inventory-key.avsc"), map[string]any{"sku": "SKU-1"})
	value = frame(1, readSchema(t, "inventory-envelope.avsc"), map[string]any{
		"before": nil,
		"after": goavro.Union("shop.public.inventory.Value", map[string]any{
			"sku": "SKU-1", "on_hand": int32(7), "version": int64(42),
			"updated_at": goavro.Union("string", "2026-11-21T10:00:00.123Z"),
		}),
		"source": map[string]any{
			"version": "3.0.1.Final", "connector": "postgresql", "name": "shop", "ts_ms": int64(1763719200000),
			"snapshot": goavro.Union("string", "false"), "db": "shop", "sequence": nil,
			"schema": "public", "table": "inventory", "txId": goavro.Union("long", int64(771)),
			"lsn": goavro.Union("long", int64(24023128)), "xmin": nil,
		},
		"op":    "u",
		"ts_ms": goavro.Union("long", int64(1763719200456)),
		"transaction": goavro.Union("event.block", map[string]any{
			"id": "771:24023128", "total_order": int64(2), "data_collection_order": int64(1),
		}),
	})
	return key, value
}

func newServer(t *testing.T, f *fakeRegistry) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func mustNew(t *testing.T, base string, opts Options) *Client {
	t.Helper()
	c, err := New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDecodeThroughRegistry decodes a Debezium Avro record with schemas
// served over HTTP, twice: the second decode is served from the cache.
func TestDecodeThroughRegistry(t *testing.T) {
	f := &fakeRegistry{schemas: map[int]string{1: readSchema(t, "inventory-envelope.avsc"), 2: readSchema(t, "inventory-key.avsc")}}
	srv := newServer(t, f)
	client := mustNew(t, srv.URL, Options{})
	key, value := inventoryRecord(t)
	for i := range 2 {
		d := &debezium.Decoder{Registry: client} // a fresh decoder: only the client's cache can help
		r, err := d.Decode(context.Background(), key, value)
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if r.Op != debezium.OpUpsert || r.Row["on_hand"] != int64(7) || r.Row["version"] != int64(42) || r.Key["sku"] != "SKU-1" {
			t.Fatalf("decode %d: %+v", i, r)
		}
		if ts, ok := r.Row["updated_at"].(time.Time); !ok || !ts.Equal(time.Date(2026, 11, 21, 10, 0, 0, 123e6, time.UTC)) {
			t.Errorf("updated_at = %#v", r.Row["updated_at"])
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("registry called %d times for two decodes of (key, value), want 2 (once per id)", n)
	}
}

// TestSingleFlight: concurrent misses for one id make one request.
func TestSingleFlight(t *testing.T) {
	release := make(chan struct{})
	f := &fakeRegistry{schemas: map[int]string{1: `"string"`}}
	f.respond = func(w http.ResponseWriter, r *http.Request, _ int32) bool {
		<-release
		return false
	}
	srv := newServer(t, f)
	client := mustNew(t, srv.URL, Options{})
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := client.Schema(context.Background(), 1)
			if err == nil && s != `"string"` {
				err = fmt.Errorf("schema %q", s)
			}
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let every caller join the request in flight
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests for %d concurrent callers, want 1", n, callers)
	}
}

func TestNotFoundIsPermanent(t *testing.T) {
	srv := newServer(t, &fakeRegistry{})
	client := mustNew(t, srv.URL, Options{})
	_, err := client.Schema(context.Background(), 12)
	if !errors.Is(err, ErrNotFound) || errors.Is(err, debezium.ErrTransient) {
		t.Fatalf("err = %v, want ErrNotFound and not transient", err)
	}
	if !strings.Contains(err.Error(), "Schema 12 not found (error_code 40403)") {
		t.Errorf("err = %v, want the registry's message", err)
	}
	_, value := inventoryRecord(t)
	d := &debezium.Decoder{Registry: client}
	if _, err := d.Decode(context.Background(), nil, value); !errors.Is(err, debezium.ErrDecode) || errors.Is(err, debezium.ErrTransient) {
		t.Fatalf("decode err = %v, want ErrDecode", err)
	}
}

func TestServerErrorThenSuccess(t *testing.T) {
	f := &fakeRegistry{schemas: map[int]string{1: readSchema(t, "inventory-envelope.avsc"), 2: readSchema(t, "inventory-key.avsc")}}
	f.respond = func(w http.ResponseWriter, _ *http.Request, call int32) bool {
		if call == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error_code":50001,"message":"Error in the backend data store"}`)
			return true
		}
		return false
	}
	srv := newServer(t, f)
	client := mustNew(t, srv.URL, Options{})
	key, value := inventoryRecord(t)
	d := &debezium.Decoder{Registry: client}
	_, err := d.Decode(context.Background(), key, value)
	if !errors.Is(err, debezium.ErrTransient) || errors.Is(err, debezium.ErrDecode) {
		t.Fatalf("first decode err = %v, want ErrTransient only", err)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if r, err := d.Decode(context.Background(), key, value); err != nil || r.Row["sku"] != "SKU-1" {
		t.Fatalf("retry: %+v, %v", r, err)
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	f := &fakeRegistry{schemas: map[int]string{1: `"string"`}}
	f.respond = func(w http.ResponseWriter, r *http.Request, _ int32) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return true
	}
	srv := newServer(t, f)
	client := mustNew(t, srv.URL, Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := client.Schema(context.Background(), 1)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, debezium.ErrTransient) {
		t.Fatalf("err = %v, want ErrUnavailable (transient)", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %v with a 50ms timeout", elapsed)
	}
	_, value := inventoryRecord(t)
	d := &debezium.Decoder{Registry: client}
	if _, err := d.Decode(context.Background(), nil, value); !errors.Is(err, debezium.ErrTransient) {
		t.Fatalf("decode err = %v, want ErrTransient", err)
	}
}

// TestCallerGivesUp: a caller whose context ends stops waiting (transient),
// while the shared request goes on for the others.
func TestCallerGivesUp(t *testing.T) {
	release := make(chan struct{})
	f := &fakeRegistry{schemas: map[int]string{1: `"string"`}}
	f.respond = func(http.ResponseWriter, *http.Request, int32) bool {
		<-release
		return false
	}
	srv := newServer(t, f)
	client := mustNew(t, srv.URL, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := client.Schema(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, debezium.ErrTransient) {
		t.Fatalf("err = %v, want DeadlineExceeded and transient", err)
	}
	close(release)
	if s, err := client.Schema(context.Background(), 1); err != nil || s != `"string"` {
		t.Fatalf("after release: %q, %v", s, err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestResponseClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"unknown path 404 means a wrong URL", 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`, ErrUnavailable},
		{"404 without a JSON body", 404, `<html>not here</html>`, ErrNotFound},
		{"unauthorized", 401, `{"error_code":40101,"message":"Unauthorized"}`, ErrUnavailable},
		{"rate limited", 429, ``, ErrUnavailable},
		{"bad gateway", 502, `<html>bad gateway</html>`, ErrUnavailable},
		{"malformed 200", 200, `<html>login</html>`, ErrUnavailable},
		{"protobuf schema", 200, `{"schema":"syntax = \"proto3\";","schemaType":"PROTOBUF"}`, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRegistry{respond: func(w http.ResponseWriter, _ *http.Request, _ int32) bool {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
				return true
			}}
			client := mustNew(t, newServer(t, f).URL, Options{})
			_, err := client.Schema(context.Background(), 1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if transient := errors.Is(err, debezium.ErrTransient); transient != (tc.want == ErrUnavailable) {
				t.Errorf("err = %v: transient = %v", err, transient)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
	t.Run("explicit AVRO type", func(t *testing.T) {
		f := &fakeRegistry{respond: func(w http.ResponseWriter, _ *http.Request, _ int32) bool {
			fmt.Fprint(w, `{"schema":"\"long\"","schemaType":"AVRO"}`)
			return true
		}}
		client := mustNew(t, newServer(t, f).URL, Options{})
		if s, err := client.Schema(context.Background(), 1); err != nil || s != `"long"` {
			t.Fatalf("%q, %v", s, err)
		}
	})
}

func TestAuthAndPathPrefix(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"basic", Options{Username: "key", Password: "secret"}, "Basic a2V5OnNlY3JldA=="},
		{"bearer", Options{BearerToken: "tok"}, "Bearer tok"},
		{"none", Options{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotAuth, gotPath string
			f := &fakeRegistry{respond: func(w http.ResponseWriter, r *http.Request, _ int32) bool {
				gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
				fmt.Fprint(w, `{"schema":"\"long\""}`)
				return true
			}}
			client := mustNew(t, newServer(t, f).URL+"/sr/", tc.opts)
			if _, err := client.Schema(context.Background(), 5); err != nil {
				t.Fatal(err)
			}
			if gotAuth != tc.want {
				t.Errorf("Authorization = %q, want %q", gotAuth, tc.want)
			}
			if gotPath != "/sr/schemas/ids/5" {
				t.Errorf("path = %q", gotPath)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		base string
		opts Options
	}{
		{"localhost:8081", Options{}},
		{"ftp://host", Options{}},
		{"http://", Options{}},
		{"http://host?x=1", Options{}},
		{"http://host", Options{Username: "u", BearerToken: "t"}},
		{"http://host", Options{Timeout: -time.Second}},
	} {
		if _, err := New(tc.base, tc.opts); err == nil {
			t.Errorf("New(%q, %+v) succeeded", tc.base, tc.opts)
		}
	}
}

func TestErrorsRedactCredentials(t *testing.T) {
	client := mustNew(t, "http://user:hunter2@127.0.0.1:1", Options{Timeout: time.Second})
	_, err := client.Schema(context.Background(), 1)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the password: %v", err)
	}
}
