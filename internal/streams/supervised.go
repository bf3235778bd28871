package streams

import (
	"context"

	"github.com/lovoo/goka"

	"cartstream/internal/supervise"
)

// ProcessorRunner adapts a goka processor to supervise.Runner.
type ProcessorRunner struct {
	// Processor is the incarnation being run; nil until built.
	Processor *goka.Processor
}

// Run runs the processor until ctx ends or it fails.
func (r *ProcessorRunner) Run(ctx context.Context) error { return r.Processor.Run(ctx) }

// Ready reports whether every table partition the processor owns is
// recovered.
func (r *ProcessorRunner) Ready() bool { return r.Processor.Recovered() }

// Supervised returns a supervise.Factory that builds a fresh processor for
// the graph on every start; onBuild (may be nil) sees each new incarnation,
// for components that query the processor's state. With Config.Admin set,
// local state the changelog does not cover is removed before each start.
func (f *Factory) Supervised(gg *goka.GroupGraph, po ProcessorOptions, onBuild func(*goka.Processor)) supervise.Factory {
	return func(ctx context.Context) (supervise.Runner, error) {
		if f.cfg.Admin != nil {
			removed, err := f.ReconcileLocalState(ctx, f.cfg.Admin, gg.Group())
			if err != nil {
				return nil, err
			}
			for _, dir := range removed {
				f.logger().Warn("local state ahead of the changelog; rebuilding it", "group", string(gg.Group()), "dir", dir)
			}
		}
		p, err := f.NewProcessor(gg, po)
		if err != nil {
			return nil, err
		}
		if onBuild != nil {
			onBuild(p)
		}
		return &ProcessorRunner{Processor: p}, nil
	}
}
