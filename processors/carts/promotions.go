package carts

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"cartstream/internal/promo"
	"cartstream/internal/streams"
	"cartstream/internal/supervise"
	"cartstream/schemas"
)

// PromotionIndexer keeps a promo.Index equal to the promotions table: a goka
// view of the table whose every update (recovery included) also upserts or
// deletes in the index, and which, once recovered, reconciles the index with
// the whole table (a restart recovers only from the local offset, so the
// index must be refilled from local state).
type PromotionIndexer struct {
	Factory *streams.Factory
	Table   string
	Index   *promo.Index
	Logger  *slog.Logger
}

// Supervised returns the factory of supervised indexer runs.
func (pi *PromotionIndexer) Supervised() supervise.Factory {
	if pi.Logger == nil {
		pi.Logger = slog.New(slog.DiscardHandler)
	}
	return func(context.Context) (supervise.Runner, error) {
		r := &indexerRun{pi: pi}
		v, err := pi.Factory.NewView(goka.Table(pi.Table), schemas.Codec[schemas.Promotion]{},
			goka.WithViewCallback(r.update))
		if err != nil {
			return nil, err
		}
		r.view = v
		return r, nil
	}
}

type indexerRun struct {
	pi     *PromotionIndexer
	view   *goka.View
	filled atomic.Bool
}

// update stores the change as goka would and mirrors it into the index.
// A value that does not decode cannot have been written by cdc-promotions;
// it is skipped (and logged) rather than stopping the view.
func (r *indexerRun) update(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
	if err := goka.DefaultUpdate(ctx, s, key, value); err != nil {
		return err
	}
	if value == nil {
		r.pi.Index.Delete(key)
		return nil
	}
	var p schemas.Promotion
	err := schemas.Unmarshal(value, &p)
	if err == nil {
		err = r.pi.Index.Upsert(p)
	}
	if err != nil {
		r.pi.Logger.Warn("promotion in the table cannot be indexed; left out", "key", key, "error", err)
		r.pi.Index.Delete(key)
	}
	return nil
}

// Run runs the view; once recovered it reconciles the index with the table.
func (r *indexerRun) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- r.view.Run(ctx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !r.filled.Load() {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if r.view.Recovered() {
				if err := r.fill(); err != nil {
					return err
				}
				r.filled.Store(true)
			}
		}
	}
	return <-done
}

// fill upserts every promotion of the table and deletes from the index what
// the table does not hold.
func (r *indexerRun) fill() error {
	it, err := r.view.Iterator()
	if err != nil {
		return fmt.Errorf("carts: iterate promotions: %w", err)
	}
	defer it.Release()
	present := map[string]bool{}
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			continue
		}
		if p, ok := v.(*schemas.Promotion); ok && p != nil {
			if err := r.pi.Index.Upsert(*p); err != nil {
				r.pi.Logger.Warn("promotion in the table cannot be indexed; left out", "key", p.ID, "error", err)
				continue
			}
			present[p.ID] = true
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("carts: iterate promotions: %w", err)
	}
	for _, id := range r.pi.Index.IDs() {
		if !present[id] {
			r.pi.Index.Delete(id)
		}
	}
	return nil
}

// Ready reports whether the view is recovered and the index filled.
func (r *indexerRun) Ready() bool { return r.filled.Load() && r.view.Recovered() }
