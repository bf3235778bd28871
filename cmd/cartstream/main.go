// Command cartstream is a stream-processing application in the style of
// Kafka Streams: it turns a shop's database changes and storefront cart events
// into evaluated offers and oversell-proof inventory reservations.
//
// Run `cartstream --help` for the subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"cartstream/internal/streams"
)

func main() {
	streams.InstallGlobalConfig()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cartstream:", err)
		os.Exit(1)
	}
}
