package carts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lovoo/goka"

	"cartstream/internal/debezium"
	"cartstream/internal/dlq"
	"cartstream/internal/streams"
	"cartstream/schemas"
)

// SchemaRegistry resolves a Confluent schema id to its Avro schema JSON;
// internal/registry's Client is one. Errors that may heal by retrying (the
// registry unreachable, slow or failing) must wrap debezium.ErrTransient, as
// the registry client's do; any other error means the id can never be
// resolved.
type SchemaRegistry interface {
	Schema(ctx context.Context, id int) (string, error)
}

// Transient-failure backoff inside a callback: a registry outage holds the
// partition, retrying, until it heals or the processor stops (DESIGN §2.4).
const (
	registryRetryMin = 100 * time.Millisecond
	registryRetryMax = 10 * time.Second
)

// avroEvents turns Confluent-framed Avro cart events (magic byte 0, schema
// id, Avro body; see schemas/avro/cart_event.avsc) into the JSON object
// they stand for, which the group then validates like any JSON cart event.
// Each writer schema is fetched and compiled once per id.
type avroEvents struct {
	registry SchemaRegistry // nil: no registry configured

	mu      sync.Mutex
	writers map[int]*schemas.AvroJSON
}

// errTransient reports a failure worth retrying: the registry wrapped
// debezium.ErrTransient, or the caller's context ended while waiting.
func errTransient(err error) bool {
	return errors.Is(err, debezium.ErrTransient) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// json returns the JSON text of a Confluent-framed Avro cart event.
// Errors are dlq.Decode for records that can never decode (bad framing, an
// id the registry does not know, bytes that do not fit the writer schema,
// no registry configured) and unclassified transient errors otherwise.
func (a *avroEvents) json(ctx context.Context, value []byte) ([]byte, error) {
	id, body, err := schemas.SplitConfluent(value)
	if err != nil {
		return nil, dlq.Decode(fmt.Errorf("carts: Avro cart event: %w", err))
	}
	w, err := a.writer(ctx, id)
	if err != nil {
		return nil, err
	}
	text, err := w.AppendJSON(make([]byte, 0, 2*len(body)+64), body)
	if err != nil {
		return nil, dlq.Decode(fmt.Errorf("carts: Avro cart event (schema %d): %w", id, err))
	}
	return text, nil
}

func (a *avroEvents) writer(ctx context.Context, id int) (*schemas.AvroJSON, error) {
	a.mu.Lock()
	w, ok := a.writers[id]
	a.mu.Unlock()
	if ok {
		return w, nil
	}
	if a.registry == nil {
		return nil, dlq.Decode(fmt.Errorf("carts: cart event in Avro (schema id %d) but no schema registry is configured (--registry)", id))
	}
	text, err := a.registry.Schema(ctx, id)
	if err != nil {
		if errTransient(err) {
			return nil, fmt.Errorf("carts: schema %d: %w", id, err)
		}
		return nil, dlq.Decode(fmt.Errorf("carts: schema %d: %w", id, err))
	}
	w, err = schemas.NewAvroJSON(text)
	if err != nil {
		return nil, dlq.Decode(fmt.Errorf("carts: schema %d: %w", id, err))
	}
	a.mu.Lock()
	if a.writers == nil {
		a.writers = map[int]*schemas.AvroJSON{}
	}
	if prev, ok := a.writers[id]; ok {
		w = prev
	} else {
		a.writers[id] = w
	}
	a.mu.Unlock()
	return w, nil
}

// eventJSON returns the JSON text of a cart event's value: the value itself
// when it is JSON, the decoded record when it is Confluent-framed Avro. A
// registry outage is retried with backoff, holding the partition, and is
// never dead-lettered; the partition fails only when the processor stops
// meanwhile (goka's ctx.Fail does not return).
func (h *handler) eventJSON(ctx goka.Context, value []byte) ([]byte, error) {
	if !schemas.IsConfluent(value) {
		return value, nil
	}
	wait := registryRetryMin
	for {
		text, err := h.avro.json(ctx.Context(), value)
		if err == nil {
			return text, nil
		}
		if _, poison := dlq.ClassOf(err); poison || !errTransient(err) {
			return nil, err
		}
		h.cfg.Metrics.TransientRetries.WithLabelValues(h.group.Name).Inc()
		h.cfg.Logger.Warn("transient decode failure; retrying", "group", h.group.Name, "error", err, "backoff", wait)
		select {
		case <-ctx.Context().Done():
			streams.Fail(ctx, fmt.Errorf("carts: stopped while retrying: %w", err))
		case <-time.After(wait):
		}
		wait = min(2*wait, registryRetryMax)
	}
}
