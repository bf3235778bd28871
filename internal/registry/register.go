package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

var (
	// ErrIncompatible: the registry refused the schema because it breaks
	// the subject's compatibility rule (HTTP 409). Permanent until the
	// schema or the rule changes.
	ErrIncompatible = errors.New("registry: schema incompatible with the subject")
	// ErrInvalidSchema: the registry refused the schema as malformed (HTTP
	// 422). Permanent.
	ErrInvalidSchema = errors.New("registry: invalid schema")
)

// authorize sets the configured credentials on a request.
func (c *Client) authorize(req *http.Request) {
	switch {
	case c.opts.Username != "":
		req.SetBasicAuth(c.opts.Username, c.opts.Password)
	case c.opts.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.opts.BearerToken)
	}
}

// Register registers an Avro schema under subject (POST
// /subjects/{subject}/versions) and returns its id. Registering a schema
// the subject already holds is not an error: the registry answers with the
// existing id, so producers call Register on every start. The id is cached
// with the schema, so a later Schema(id) needs no request.
//
// Errors: ErrIncompatible and ErrInvalidSchema (permanent), ErrUnavailable
// (transient: network, timeout, 5xx, 401/403, 408, 429), each wrapped with
// the subject and the registry's message.
func (c *Client) Register(ctx context.Context, subject, schema string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(map[string]string{"schema": schema})
	if err != nil {
		return 0, fmt.Errorf("registry: register %s: %w", subject, err)
	}
	endpoint := c.base + "/subjects/" + url.PathEscape(subject) + "/versions"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("registry: register %s: %w", subject, err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("registry: register %s: no answer within %v: %w", subject, c.timeout, ErrUnavailable)
		}
		return 0, fmt.Errorf("registry: register %s: %v: %w", subject, redact(err), ErrUnavailable)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, fmt.Errorf("registry: register %s: reading the response: %v: %w", subject, err, ErrUnavailable)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		var r struct {
			ID *int `json:"id"`
		}
		if err := json.Unmarshal(answer, &r); err != nil || r.ID == nil {
			return 0, fmt.Errorf("registry: register %s: malformed response from %s (HTTP 200, %s): %w", subject, c.display, snippet(answer), ErrUnavailable)
		}
		c.mu.Lock()
		c.cache[*r.ID] = schema
		c.mu.Unlock()
		return *r.ID, nil
	case code == http.StatusConflict:
		return 0, fmt.Errorf("registry: register %s: %s: %w", subject, message(answer), ErrIncompatible)
	case code == http.StatusUnprocessableEntity:
		return 0, fmt.Errorf("registry: register %s: %s: %w", subject, message(answer), ErrInvalidSchema)
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests,
		code == http.StatusUnauthorized, code == http.StatusForbidden, code >= 500:
		return 0, fmt.Errorf("registry: register %s: HTTP %d: %s: %w", subject, code, message(answer), ErrUnavailable)
	default:
		return 0, fmt.Errorf("registry: register %s: %s answered HTTP %d: %s", subject, c.display, code, message(answer))
	}
}
