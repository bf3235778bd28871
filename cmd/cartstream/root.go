package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"cartstream/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "cartstream",
		Short: "Real-time offers and oversell-proof reservations from CDC and cart events",
		Long: `cartstream turns a shop's database changes (Debezium CDC) and storefront cart
events into evaluated offers (carts joined with promotions) and inventory
reservations, answers interactive queries over HTTP and replays its topology.

With no --brokers it runs embedded: a durable Kafka-protocol broker, every
processor and the HTTP server in one process.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newBrokerCmd(), newTopologyCmd(), newDebeziumCmd(), newDemoCmd(), newEvaluateCmd(), newDocsCmd(root), newReplayCmd(), newSimulateCmd(), newProduceCmd(), newDLQCmd(), newArchitectureDocsCmd())
	root.AddCommand(newLoadgenCmd())
	root.AddCommand(newChaosCmd())
	root.AddCommand(newBenchCmd())
	return root
}

// bindConfig makes a command read CARTSTREAM_<FLAG> variables and --config.
func bindConfig(cmd *cobra.Command) {
	cmd.Flags().String("config", "", "YAML file of flag names to values (flags and CARTSTREAM_<FLAG> variables take precedence)")
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		path, _ := cmd.Flags().GetString("config")
		if !cmd.Flags().Changed("config") {
			path = os.Getenv(config.EnvName("config"))
		}
		if err := config.Apply(cmd.Flags(), os.Getenv, path); err != nil {
			return err
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
