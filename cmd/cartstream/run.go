package main

import (
	"os"

	"github.com/spf13/cobra"

	"cartstream/internal/config"
	"cartstream/internal/instance"
)

func newRunCmd() *cobra.Command {
	var cfg config.Config
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run an instance: processors, HTTP queries, and (without --brokers) the embedded broker",
		Long: `Run one cartstream instance.

Without --brokers it starts the embedded durable broker on --kafka-listen (so
kcat and other clients can connect), creates the design's topics and runs
everything in this process. With --brokers it joins a Kafka cluster; any number
of instances share the work through consumer groups.

SIGTERM or SIGINT stops it cleanly within --shutdown-timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
			in, err := instance.New(cfg, log)
			if err != nil {
				return err
			}
			return in.Run(cmd.Context())
		},
	}
	cfg.RegisterRun(cmd.Flags())
	bindConfig(cmd)
	return cmd
}
