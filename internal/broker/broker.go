// Package broker runs cartstream's embedded Kafka-protocol broker: franz-go's
// kfake with a data directory, so topics, offsets and committed group offsets
// survive a restart.
//
// The broker is one node. It is meant for the embedded mode of `cartstream
// run`, for `cartstream broker` in multi-process setups and for tests; it is
// not a replacement for a replicated Kafka cluster. The package owns the
// broker's lifecycle only: it never creates topics (see topology) and never
// reads or writes records.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultListen is the address the embedded broker listens on when none is
// given; it is also the address it advertises to clients.
const DefaultListen = "127.0.0.1:9092"

// Config says where the broker keeps its data and where it listens.
type Config struct {
	// DataDir is the directory kfake persists its log segments, topic
	// metadata and group offsets to. Required: an embedded broker without
	// a data directory would lose every record on restart.
	DataDir string
	// Listen is host:port to listen on (port 0 picks a free port). The
	// host is also what the broker advertises in metadata, so it must be
	// an address clients can reach (not 0.0.0.0). Default DefaultListen.
	Listen string
	// SyncWrites fsyncs every produced batch before acknowledging it.
	// Default false: like Kafka's own default, data is synced on segment
	// roll and clean shutdown, so a machine crash (not a process crash)
	// can lose the newest batches.
	SyncWrites bool
	// AutoCreateTopics lets a produce or metadata request for an unknown
	// topic create it with DefaultPartitions partitions, as Kafka's
	// auto.create.topics.enable does. Default false: cartstream creates
	// its topics with their declared settings, and a typo should fail.
	AutoCreateTopics bool
	// DefaultPartitions is the partition count of auto-created topics.
	// Default 8.
	DefaultPartitions int
	// Logger receives the broker's warnings and errors. Default: discard.
	Logger *slog.Logger

	// TLSCert and TLSKey are PEM files of the broker's certificate and
	// key. When set, the listener speaks TLS only (Kafka's SSL or
	// SASL_SSL); the certificate must name the host of Listen, which is
	// what clients check. Default: plaintext.
	TLSCert, TLSKey string
	// TLSClientCA is a PEM file of the certificate authorities that sign
	// client certificates. When set (with TLSCert), every client must
	// present one (Kafka's ssl.client.auth=required). Default: clients
	// need none.
	TLSClientCA string
	// SASLUsers, when not empty, makes every connection authenticate as
	// one of them (SASL_PLAINTEXT, or SASL_SSL with TLSCert) before any
	// other request. The users are exactly these on every start: users
	// kept in the data directory by an earlier run or added at runtime
	// (AlterUserScramCredentials) are forgotten. Default: no
	// authentication.
	SASLUsers []SASLUser
}

// Broker is a running embedded broker. Close it to flush its state to the
// data directory; a broker that is not closed (SIGKILL) recovers from its
// segment files on the next start.
type Broker struct {
	cluster   *kfake.Cluster
	addr      string
	lock      *os.File
	dataDir   string
	closeOnce sync.Once
}

// LockFile is the file in the data directory a running broker holds an
// exclusive lock on (flock), so a second broker, or `cartstream replay`
// opening the data directory itself, cannot use it at the same time. The
// lock goes with the process: a killed broker leaves the file but not the
// lock.
const LockFile = "cartstream.lock"

// ErrDataDirInUse is returned by Start when another process (or another
// Broker in this one) holds the data directory's lock.
var ErrDataDirInUse = errors.New("broker: data directory in use by a running broker")

// Start starts a broker with the given configuration. It returns once the
// broker accepts connections. The context bounds only the start itself.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("broker: a data directory is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("broker: listen address %q: bad port", cfg.Listen)
	}
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		return nil, fmt.Errorf("broker: listen address %q: the host is advertised to clients, so it must be a reachable address, not a wildcard", cfg.Listen)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("broker: data dir: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	secOpts, serverTLS, err := cfg.securityOpts()
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(filepath.Join(cfg.DataDir, LockFile))
	if err != nil {
		return nil, fmt.Errorf("broker: %s: %w", cfg.DataDir, err)
	}
	// kfake keeps SASL users in <data dir>/sasl.json and, when it finds
	// the file, replaces the users it was started with by the file's
	// (a broker once run without SASL has a file with none, so every
	// login would fail). The configured users are the only truth:
	// remove the file before starting, and after closing so PLAIN
	// passwords do not stay on disk.
	if err := removeSASLState(cfg.DataDir); err != nil {
		lock.Close()
		return nil, err
	}
	lc := net.ListenConfig{}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(cfg.DataDir),
		kfake.ClusterID("cartstream-embedded"),
		// kfake always asks for 127.0.0.1:<port>; listen on the host the
		// operator chose instead, so that is what metadata advertises.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			l, err := lc.Listen(ctx, network, net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil || serverTLS == nil && len(cfg.SASLUsers) == 0 {
				return l, err
			}
			return secureListener{Listener: l, tls: serverTLS, sasl: len(cfg.SASLUsers) > 0}, nil
		}),
		kfake.WithLogger(slogAdapter{cfg.Logger}),
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if cfg.AutoCreateTopics {
		parts := cfg.DefaultPartitions
		if parts <= 0 {
			parts = 8
		}
		opts = append(opts, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(parts))
	}
	opts = append(opts, secOpts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("broker: start on %s with data dir %s: %w", cfg.Listen, cfg.DataDir, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		lock.Close()
		return nil, fmt.Errorf("broker: expected one listener, got %d", len(addrs))
	}
	return &Broker{cluster: c, addr: addrs[0], lock: lock, dataDir: cfg.DataDir}, nil
}

// Addr is the host:port clients connect to.
func (b *Broker) Addr() string { return b.addr }

// Close stops accepting connections and writes the broker's state to its data
// directory. It is safe to call more than once.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		b.cluster.Close()
		// Best effort: Start removes it too.
		_ = removeSASLState(b.dataDir)
		b.lock.Close() // releases the flock
	})
}

// slogAdapter forwards kfake's log lines to slog; a nil logger discards them.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Logf(level kfake.LogLevel, format string, args ...any) {
	if a.l == nil {
		return
	}
	var lvl slog.Level
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	case kfake.LogLevelInfo:
		lvl = slog.LevelInfo
	default:
		lvl = slog.LevelDebug
	}
	if !a.l.Enabled(context.Background(), lvl) {
		return
	}
	a.l.Log(context.Background(), lvl, fmt.Sprintf(format, args...), "component", "broker")
}
