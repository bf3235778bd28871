// Package registry is a client for the Confluent Schema Registry's
// schema-by-id lookup (GET /schemas/ids/{id}), the one call a consumer of
// Confluent-framed Avro needs, and its registration call (POST
// /subjects/{subject}/versions), the one call a producer needs. Its Client
// implements debezium.SchemaRegistry.
//
// It owns caching (ids are immutable: a schema is fetched once per process
// and kept forever, concurrent misses share one request), timeouts, auth
// headers and the classification of failures into permanent (the record can
// never be decoded: dead-letter it) and transient (retry: the registry is
// unreachable, slow or failing).
//
// Consumers never register schemas; only producers (`cartstream produce`)
// call Register. It never looks up subjects or versions, never retries by
// itself (the caller's retry loop owns backoff) and keeps no
// package-level mutable state.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"cartstream/internal/debezium"
)

// DefaultTimeout bounds one HTTP request to the registry when
// Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// maxResponseBytes bounds a registry response body (a schema is a few KiB;
// Debezium envelopes of wide tables a few hundred).
const maxResponseBytes = 8 << 20

// confluentSchemaNotFound is the registry's error_code for an unknown id.
const confluentSchemaNotFound = 40403

var (
	// ErrNotFound: the registry answered that it has no schema with this id
	// (HTTP 404, error_code 40403). Permanent: a record framed with this id
	// can never be decoded. It does not wrap debezium.ErrTransient, so the
	// decoder reports such records as debezium.ErrDecode.
	ErrNotFound = errors.New("registry: schema not found")
	// ErrUnsupported: the registry has the schema but it is not Avro
	// (schemaType JSON or PROTOBUF). Permanent.
	ErrUnsupported = errors.New("registry: schema type not supported")
	// ErrUnavailable: the registry could not answer — network error,
	// timeout, HTTP 5xx, 408, 429, 401/403 (credentials an operator must
	// fix), a 404 from something that is not the schema lookup (a wrong
	// base URL), or a malformed success response. Transient: it wraps
	// debezium.ErrTransient, so records are retried, never dead-lettered.
	ErrUnavailable = fmt.Errorf("registry: unavailable: %w", debezium.ErrTransient)
)

var _ debezium.SchemaRegistry = (*Client)(nil)

// Options configures a Client. The zero value is valid.
type Options struct {
	// Timeout bounds each HTTP request (connect, headers and body).
	// Default DefaultTimeout (5 s). A request that times out is transient.
	Timeout time.Duration
	// Username and Password, when Username is set, are sent as HTTP basic
	// auth (Confluent Cloud: API key and secret).
	Username, Password string
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	// It cannot be combined with Username.
	BearerToken string
	// HTTPClient sends the requests. Default: a client of its own with
	// http.DefaultTransport; its Timeout should be zero (Options.Timeout
	// applies per request through the context).
	HTTPClient *http.Client
}

// Client looks up Avro schemas by id in a Confluent Schema Registry.
// It is safe for concurrent use.
type Client struct {
	base    string // base URL without a trailing slash
	display string // base for error messages, password redacted
	opts    Options
	http    *http.Client
	timeout time.Duration

	mu       sync.Mutex
	cache    map[int]string // id → schema; ids are immutable, so never evicted
	inflight map[int]*call  // id → the one request fetching it now
}

type call struct {
	done   chan struct{}
	schema string
	err    error
}

// New returns a client for the registry at baseURL (http or https, with an
// optional path prefix, e.g. "https://sr.example:8081" or
// "http://host/registry").
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("registry: base URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry: base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("registry: base URL %q: no query or fragment allowed", baseURL)
	}
	if opts.BearerToken != "" && opts.Username != "" {
		return nil, errors.New("registry: both basic auth and a bearer token configured; choose one")
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("registry: negative timeout %v", opts.Timeout)
	}
	c := &Client{
		base:     strings.TrimRight(u.String(), "/"),
		display:  strings.TrimRight(u.Redacted(), "/"),
		opts:     opts,
		http:     opts.HTTPClient,
		timeout:  opts.Timeout,
		cache:    map[int]string{},
		inflight: map[int]*call{},
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// Schema returns the Avro schema JSON registered under id.
//
// A cached schema is returned at once. Otherwise one request is made, shared
// by every concurrent caller asking for the same id; it runs with its own
// timeout (Options.Timeout) and is not cut short when one caller gives up.
// Each caller waits at most until its ctx ends, then gets an error wrapping
// ctx.Err() and debezium.ErrTransient. Failures are not cached.
//
// Errors: ErrNotFound or ErrUnsupported (permanent), ErrUnavailable
// (transient; wraps debezium.ErrTransient), each wrapped with the id and
// the registry's message.
func (c *Client) Schema(ctx context.Context, id int) (string, error) {
	c.mu.Lock()
	if s, ok := c.cache[id]; ok {
		c.mu.Unlock()
		return s, nil
	}
	cl, ok := c.inflight[id]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.inflight[id] = cl
		go c.fetch(context.WithoutCancel(ctx), id, cl)
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.schema, cl.err
	case <-ctx.Done():
		return "", fmt.Errorf("registry: schema %d: %w (%w)", id, debezium.ErrTransient, ctx.Err())
	}
}

func (c *Client) fetch(ctx context.Context, id int, cl *call) {
	cl.schema, cl.err = c.get(ctx, id)
	c.mu.Lock()
	if cl.err == nil {
		c.cache[id] = cl.schema
	}
	delete(c.inflight, id)
	c.mu.Unlock()
	close(cl.done)
}

// schemaResponse is the registry's answer to GET /schemas/ids/{id}.
type schemaResponse struct {
	Schema     string `json:"schema"`
	SchemaType string `json:"schemaType"` // absent for Avro
}

// errorResponse is the registry's error body.
type errorResponse struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func (c *Client) get(ctx context.Context, id int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	endpoint := c.base + "/schemas/ids/" + strconv.Itoa(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", fmt.Errorf("registry: schema %d: %w", id, err)
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("registry: schema %d: no answer within %v: %w", id, c.timeout, ErrUnavailable)
		}
		return "", fmt.Errorf("registry: schema %d: %v: %w", id, redact(err), ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return "", fmt.Errorf("registry: schema %d: reading the response: %v: %w", id, err, ErrUnavailable)
	}
	if len(body) > maxResponseBytes {
		return "", fmt.Errorf("registry: schema %d: response larger than %d bytes: %w", id, maxResponseBytes, ErrUnavailable)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		var sr schemaResponse
		if err := json.Unmarshal(body, &sr); err != nil || sr.Schema == "" {
			return "", fmt.Errorf("registry: schema %d: malformed response from %s (HTTP 200, %s): %w", id, c.display, snippet(body), ErrUnavailable)
		}
		if sr.SchemaType != "" && !strings.EqualFold(sr.SchemaType, "AVRO") {
			return "", fmt.Errorf("registry: schema %d is %s: %w", id, sr.SchemaType, ErrUnsupported)
		}
		return sr.Schema, nil
	case code == http.StatusNotFound:
		var er errorResponse
		if json.Unmarshal(body, &er) == nil && er.ErrorCode != 0 && er.ErrorCode != confluentSchemaNotFound {
			// Not the schema lookup answering (e.g. 404 "HTTP 404 Not Found"
			// for an unknown path): the base URL is wrong, which an operator
			// fixes; dead-lettering every record would be worse.
			return "", fmt.Errorf("registry: schema %d: %s answered HTTP 404 %s; is the registry URL right?: %w", id, c.display, message(body), ErrUnavailable)
		}
		return "", fmt.Errorf("registry: schema %d: %s: %w", id, message(body), ErrNotFound)
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests,
		code == http.StatusUnauthorized, code == http.StatusForbidden, code >= 500:
		return "", fmt.Errorf("registry: schema %d: HTTP %d: %s: %w", id, code, message(body), ErrUnavailable)
	default:
		return "", fmt.Errorf("registry: schema %d: HTTP %d: %s", id, code, message(body))
	}
}

// message returns the registry's error message, or a snippet of the body.
func message(body []byte) string {
	var er errorResponse
	if json.Unmarshal(body, &er) == nil && er.Message != "" {
		msg := strings.Join(strings.Fields(er.Message), " ")
		if er.ErrorCode != 0 {
			return fmt.Sprintf("%s (error_code %d)", msg, er.ErrorCode)
		}
		return msg
	}
	return snippet(body)
}

func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	if s == "" {
		return "empty body"
	}
	return strconv.Quote(s)
}

// redact drops credentials a URL in a transport error could carry.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			u.User = nil
			return fmt.Sprintf("%s %s: %v", ue.Op, u.Redacted(), ue.Err)
		}
	}
	return err.Error()
}
