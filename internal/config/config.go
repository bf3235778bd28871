// Package config holds cartstream's one configuration struct and fills it
// from, in order of precedence, command-line flags, CARTSTREAM_<FLAG>
// environment variables and an optional YAML file of flag names to values.
//
// Defaults live where the flags are declared, so `cartstream <cmd> --help` and
// docs/configuration.md (generated from the CLI) always agree with the code.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"cartstream/internal/broker"
	"cartstream/internal/kafkasec"
	"cartstream/internal/reserve"
	"cartstream/internal/streamtime"
	"cartstream/internal/ticks"
	"cartstream/topology"
)

// EnvPrefix prefixes the environment variable of every flag:
// --data-dir is CARTSTREAM_DATA_DIR.
const EnvPrefix = "CARTSTREAM_"

// Defaults not owned by another package.
const (
	DefaultDataDir    = "./data"
	DefaultHTTPListen = "127.0.0.1:8080"
	// DefaultShutdownTimeout bounds a clean stop after SIGTERM.
	DefaultShutdownTimeout = 10 * time.Second
)

// Config is everything `cartstream run` needs.
type Config struct {
	// Kafka
	Brokers           []string // empty: run the embedded broker
	KafkaListen       string   // embedded broker's address
	Partitions        int      // partitions of topics cartstream creates
	ReplicationFactor int      // 0: min(3, brokers)
	MinInsyncReplicas int      // 0: min(2, replication)
	GroupPrefix       string   // Kafka group id prefix
	FlushInterval     time.Duration
	Registry          string // schema registry URL for Avro CDC ("" = JSON only)
	// KafkaSecurity is the TLS and SASL of every Kafka client (see
	// kafkasec); its password never appears in String or logs.
	KafkaSecurity kafkasec.Config
	// The embedded broker's own TLS key pair, client CA and SASL users
	// file (see broker.Config); only without --brokers.
	KafkaListenTLSCert       string
	KafkaListenTLSKey        string
	KafkaListenTLSClientCA   string
	KafkaListenSASLUsersFile string

	// Instance
	DataDir         string
	HTTPListen      string
	InstanceID      string
	AdvertisedHTTP  string
	ShutdownTimeout time.Duration
	// HotStandby keeps a copy of every group table's partitions this
	// instance does not own, for failover (see docs/reliability.md).
	HotStandby bool
	// HTTP security: a bearer token for /v1 (HTTPToken, or read from
	// HTTPTokenFile) and TLS.
	HTTPToken     string
	HTTPTokenFile string
	HTTPTLSCert   string
	HTTPTLSKey    string
	// Pprof serves Go's profiler under /debug/pprof/ on the HTTP listener
	// (behind HTTPToken when set); off by default.
	Pprof bool

	// Time
	TickInterval time.Duration
	MaxSkew      time.Duration

	// Reservations (DESIGN §6)
	HoldTTL     time.Duration
	Outbox      bool
	CommitGrace time.Duration

	// Demo
	Seed bool // seed demo data on an empty data dir (embedded only)

	// Logging
	LogLevel  string
	LogFormat string
}

// String formats the configuration with its secrets (the HTTP bearer
// token and the Kafka SASL password) redacted, so a Config may be logged
// or printed whole.
func (c Config) String() string {
	if c.HTTPToken != "" {
		c.HTTPToken = kafkasec.Redacted
	}
	type fields Config // without methods, so fmt prints the fields
	return fmt.Sprintf("%+v", fields(c))
}

// Format prints String for every verb (%v, %#v, %d, ...), so no verb
// prints a secret field.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs String.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// RegisterRun declares the flags of `cartstream run` on fs, bound to c.
func (c *Config) RegisterRun(fs *pflag.FlagSet) {
	c.RegisterKafka(fs)
	fs.StringVar(&c.KafkaListen, "kafka-listen", broker.DefaultListen, "address of the embedded broker when --brokers is empty (also what it advertises)")
	fs.StringVar(&c.KafkaListenTLSCert, "kafka-listen-tls-cert", "", "embedded broker: PEM certificate file (naming the --kafka-listen host); the broker then speaks TLS only (with --kafka-listen-tls-key)")
	fs.StringVar(&c.KafkaListenTLSKey, "kafka-listen-tls-key", "", "embedded broker: PEM private key file of --kafka-listen-tls-cert")
	fs.StringVar(&c.KafkaListenTLSClientCA, "kafka-listen-tls-client-ca", "", "embedded broker: require client certificates signed by a CA in this PEM file")
	fs.StringVar(&c.KafkaListenSASLUsersFile, "kafka-listen-sasl-users-file", "", "embedded broker: require SASL, accepting the users in this file, one \"MECHANISM USER PASSWORD\" a line")
	fs.IntVar(&c.Partitions, "partitions", topology.DefaultPartitions, "partition count of topics cartstream creates")
	fs.IntVar(&c.ReplicationFactor, "replication-factor", 0, "replication factor of topics cartstream creates (0: min(3, brokers))")
	fs.IntVar(&c.MinInsyncReplicas, "min-insync-replicas", 0, "min.insync.replicas of topics cartstream creates (0: min(2, replication))")
	fs.StringVar(&c.Registry, "registry", "", "Confluent schema registry URL, for Debezium topics and cart events in Avro (empty: JSON only)")
	fs.DurationVar(&c.FlushInterval, "flush-interval", 0, "producer batching window (0: the measured default, see docs/benchmarks.md)")
	fs.StringVar(&c.DataDir, "data-dir", DefaultDataDir, "directory for local state (and the embedded broker's log)")
	fs.StringVar(&c.HTTPListen, "http-listen", DefaultHTTPListen, "address of the HTTP server (queries, /healthz, /readyz, /metrics)")
	fs.StringVar(&c.InstanceID, "instance-id", "", "this instance's id (default: host name and HTTP port)")
	fs.StringVar(&c.AdvertisedHTTP, "advertised-http", "", "HTTP address other instances use to reach this one (default: --http-listen)")
	fs.StringVar(&c.HTTPToken, "http-token", "", "bearer token required on /v1 routes (empty: none); prefer --http-token-file or CARTSTREAM_HTTP_TOKEN")
	fs.StringVar(&c.HTTPTokenFile, "http-token-file", "", "file holding the bearer token for /v1 routes")
	fs.StringVar(&c.HTTPTLSCert, "http-tls-cert", "", "PEM certificate file: serve HTTPS (with --http-tls-key)")
	fs.StringVar(&c.HTTPTLSKey, "http-tls-key", "", "PEM private key file of --http-tls-cert")
	fs.BoolVar(&c.Pprof, "pprof", false, "serve Go's profiler under /debug/pprof/ on --http-listen (behind --http-token when set); it exposes the process's internals, so keep it off in production")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "how long a clean stop may take after SIGTERM")
	fs.BoolVar(&c.HotStandby, "hot-standby", false, "keep a copy of the tables of partitions other instances own (goka hot standby; see docs/reliability.md for what it saves)")
	fs.DurationVar(&c.TickInterval, "tick-interval", ticks.DefaultInterval, "how often every instance writes a tick into each partition of the ticks topics")
	fs.DurationVar(&c.MaxSkew, "max-skew", streamtime.DefaultMaxSkew, "a cart event's ts is its event time when within this of the record timestamp")
	fs.DurationVar(&c.HoldTTL, "hold-ttl", reserve.DefaultHoldTTL, "how long an inventory hold lives, in stream time")
	fs.BoolVar(&c.Outbox, "outbox", true, "reconcile committed holds with the order outbox by inventory_version (false: drop them after --commit-grace)")
	fs.DurationVar(&c.CommitGrace, "commit-grace", reserve.DefaultCommitGrace, "with --outbox=false, how long a committed hold counts, in stream time")
	fs.BoolVar(&c.Seed, "seed", true, "seed the demo catalog on an empty embedded data dir")
	c.RegisterLogging(fs)
}

// RegisterKafka declares the flags every Kafka-speaking command shares:
// the brokers, the group prefix and the security (RegisterKafkaSecurity).
func (c *Config) RegisterKafka(fs *pflag.FlagSet) {
	fs.StringSliceVar(&c.Brokers, "brokers", nil, "Kafka bootstrap brokers, comma-separated (empty: embedded broker)")
	fs.StringVar(&c.GroupPrefix, "group-prefix", topology.DefaultGroupPrefix, "prefix of every group's Kafka group id (<prefix>-<group>)")
	c.RegisterKafkaSecurity(fs)
}

// RegisterKafkaSecurity declares the TLS and SASL flags of Kafka clients,
// bound to c.KafkaSecurity, for commands that declare --brokers their own
// way. A password has no default and is never shown by --help.
func (c *Config) RegisterKafkaSecurity(fs *pflag.FlagSet) {
	k := &c.KafkaSecurity
	fs.BoolVar(&k.TLS, "kafka-tls", false, "connect to Kafka over TLS, verifying brokers against --kafka-tls-ca (default: the system's roots)")
	fs.StringVar(&k.TLSCA, "kafka-tls-ca", "", "PEM file of the CAs that sign the brokers' certificates (with --kafka-tls; empty: the system's roots)")
	fs.StringVar(&k.TLSCert, "kafka-tls-cert", "", "PEM client certificate file, for brokers that authenticate clients by certificate (with --kafka-tls-key)")
	fs.StringVar(&k.TLSKey, "kafka-tls-key", "", "PEM private key file of --kafka-tls-cert")
	fs.BoolVar(&k.TLSInsecureSkipVerify, "kafka-tls-insecure-skip-verify", false, "accept any broker certificate; FOR TESTS ONLY: anyone on the path can then read and change the traffic")
	fs.StringVar(&k.SASLMechanism, "kafka-sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL; PLAIN sends the password, so use it with --kafka-tls)")
	fs.StringVar(&k.SASLUsername, "kafka-sasl-username", "", "SASL user name")
	fs.StringVar(&k.SASLPassword, "kafka-sasl-password", "", "SASL password; prefer CARTSTREAM_KAFKA_SASL_PASSWORD or --kafka-sasl-password-file, as other users can see command lines")
	fs.StringVar(&k.SASLPasswordFile, "kafka-sasl-password-file", "", "file holding the SASL password (surrounding white space ignored)")
}

// KafkaCluster loads the Kafka security settings (reading their files) and
// returns how to reach the brokers: --brokers with that security. Every
// franz-go client of a command comes from its NewClient.
func (c *Config) KafkaCluster() (kafkasec.Cluster, error) {
	sec, err := c.KafkaSecurity.Load()
	if err != nil {
		return kafkasec.Cluster{}, fmt.Errorf("config: %w", err)
	}
	return kafkasec.Cluster{Brokers: c.Brokers, Security: sec}, nil
}

// EmbeddedBrokerSecurity is the embedded broker's TLS and SASL settings
// (the users file read), to merge into its broker.Config.
func (c *Config) EmbeddedBrokerSecurity() (broker.Config, error) {
	b := broker.Config{TLSCert: c.KafkaListenTLSCert, TLSKey: c.KafkaListenTLSKey, TLSClientCA: c.KafkaListenTLSClientCA}
	if c.KafkaListenSASLUsersFile != "" {
		users, err := broker.LoadSASLUsers(c.KafkaListenSASLUsersFile)
		if err != nil {
			return broker.Config{}, fmt.Errorf("config: --kafka-listen-sasl-users-file: %w", err)
		}
		b.SASLUsers = users
	}
	return b, nil
}

// RegisterLogging declares the logging flags.
func (c *Config) RegisterLogging(fs *pflag.FlagSet) {
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
}

// Validate checks values flags cannot check by type.
func (c *Config) Validate() error {
	if c.Partitions <= 0 {
		return fmt.Errorf("config: --partitions must be positive, got %d", c.Partitions)
	}
	if c.TickInterval <= 0 {
		return fmt.Errorf("config: --tick-interval must be positive, got %s", c.TickInterval)
	}
	if c.MaxSkew < 0 {
		return fmt.Errorf("config: --max-skew must not be negative, got %s", c.MaxSkew)
	}
	if c.HoldTTL <= 0 {
		return fmt.Errorf("config: --hold-ttl must be positive, got %s", c.HoldTTL)
	}
	if c.CommitGrace <= 0 {
		return fmt.Errorf("config: --commit-grace must be positive, got %s", c.CommitGrace)
	}
	if (c.HTTPTLSCert == "") != (c.HTTPTLSKey == "") {
		return fmt.Errorf("config: --http-tls-cert and --http-tls-key go together")
	}
	if err := c.KafkaSecurity.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.validateEmbeddedBrokerSecurity(); err != nil {
		return err
	}
	if c.HTTPTokenFile != "" {
		if c.HTTPToken != "" {
			return fmt.Errorf("config: --http-token and --http-token-file are exclusive")
		}
		b, err := os.ReadFile(c.HTTPTokenFile)
		if err != nil {
			return fmt.Errorf("config: --http-token-file: %w", err)
		}
		c.HTTPToken = strings.TrimSpace(string(b))
		if c.HTTPToken == "" {
			return fmt.Errorf("config: --http-token-file %s is empty", c.HTTPTokenFile)
		}
	}
	if c.DataDir == "" {
		return fmt.Errorf("config: --data-dir must not be empty")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: --log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: --log-format %q: want text or json", c.LogFormat)
	}
	return nil
}

func (c *Config) validateEmbeddedBrokerSecurity() error {
	set := map[string]string{
		"--kafka-listen-tls-cert":        c.KafkaListenTLSCert,
		"--kafka-listen-tls-key":         c.KafkaListenTLSKey,
		"--kafka-listen-tls-client-ca":   c.KafkaListenTLSClientCA,
		"--kafka-listen-sasl-users-file": c.KafkaListenSASLUsersFile,
	}
	if len(c.Brokers) > 0 {
		var given []string
		for name, v := range set {
			if v != "" {
				given = append(given, name)
			}
		}
		if len(given) > 0 {
			sort.Strings(given)
			return fmt.Errorf("config: %s configure the embedded broker, which does not run with --brokers", strings.Join(given, ", "))
		}
		return nil
	}
	if (c.KafkaListenTLSCert == "") != (c.KafkaListenTLSKey == "") {
		return fmt.Errorf("config: --kafka-listen-tls-cert and --kafka-listen-tls-key go together")
	}
	if c.KafkaListenTLSClientCA != "" && c.KafkaListenTLSCert == "" {
		return fmt.Errorf("config: --kafka-listen-tls-client-ca needs --kafka-listen-tls-cert and --kafka-listen-tls-key")
	}
	return nil
}

// EnvName is the environment variable that sets a flag.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Apply fills every flag not given on the command line from its environment
// variable (looked up with getenv), else from the YAML file at path (when
// path is not empty). The file maps flag names to values; a name that is no
// flag of this command is an error, so typos do not pass silently.
func Apply(fs *pflag.FlagSet, getenv func(string) string, path string) error {
	fileValues := map[string]any{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: read %s: %w", path, err)
		}
		if err := yaml.Unmarshal(data, &fileValues); err != nil {
			return fmt.Errorf("config: parse %s: %w", path, err)
		}
		var unknown []string
		for k := range fileValues {
			if fs.Lookup(k) == nil {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("config: %s: unknown settings %s", path, strings.Join(unknown, ", "))
		}
	}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", EnvName(f.Name), v, err))
			}
			return
		}
		if v, ok := fileValues[f.Name]; ok {
			if err := fs.Set(f.Name, fileValue(v)); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s: %v", path, f.Name, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// fileValue renders a YAML value as the flag text pflag parses; lists become
// comma-separated.
func fileValue(v any) string {
	if list, ok := v.([]any); ok {
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}
