package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"cartstream/internal/broker"
)

func newBrokerCmd() *cobra.Command {
	var (
		dataDir, listen, logLevel, logFormat string
		tlsCert, tlsKey, tlsClientCA, users  string
		syncWrites, autoCreate               bool
		partitions                           int
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a standalone durable Kafka-protocol broker (for multi-process setups and tests)",
		Long: `Run the embedded broker on its own: franz-go's kfake persisting to --data-dir.
Topics, records and committed group offsets survive a restart. SIGTERM or
SIGINT flushes its state and exits 0.

With --tls-cert and --tls-key it speaks TLS only; with --sasl-users-file every
connection must authenticate as one of the users in the file (PLAIN,
SCRAM-SHA-256 or SCRAM-SHA-512), exactly those on every start. Clients then
connect with --kafka-tls, --kafka-sasl-mechanism and friends (kcat:
-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-256 ...); see
docs/operations.md, "Kafka security".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(os.Stderr, logLevel, logFormat)
			cfg := broker.Config{
				DataDir: dataDir, Listen: listen, SyncWrites: syncWrites, Logger: log,
				AutoCreateTopics: autoCreate, DefaultPartitions: partitions,
				TLSCert: tlsCert, TLSKey: tlsKey, TLSClientCA: tlsClientCA,
			}
			if users != "" {
				var err error
				if cfg.SASLUsers, err = broker.LoadSASLUsers(users); err != nil {
					return err
				}
			}
			b, err := broker.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(dataDir)
			log.Info("broker listening", "addr", b.Addr(), "data_dir", abs, "tls", tlsCert != "", "sasl_users", len(cfg.SASLUsers))
			<-cmd.Context().Done()
			log.Info("broker stopping")
			b.Close()
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./data/broker", "directory the broker persists to")
	cmd.Flags().StringVar(&listen, "listen", broker.DefaultListen, "address to listen on; also the address advertised to clients")
	cmd.Flags().BoolVar(&syncWrites, "sync-writes", false, "fsync every produced batch (slower; survives machine crashes)")
	cmd.Flags().BoolVar(&autoCreate, "auto-create-topics", false, "create unknown topics on first use, like Kafka's auto.create.topics.enable")
	cmd.Flags().IntVar(&partitions, "default-partitions", 8, "partition count of auto-created topics")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "PEM certificate file (naming the --listen host); the broker then speaks TLS only (with --tls-key)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	cmd.Flags().StringVar(&tlsClientCA, "tls-client-ca", "", "require client certificates signed by a CA in this PEM file")
	cmd.Flags().StringVar(&users, "sasl-users-file", "", "require SASL, accepting the users in this file, one \"MECHANISM USER PASSWORD\" a line")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	bindConfig(cmd)
	return cmd
}
