package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/kafkasec"
)

// Conn is a connection to the cluster a group runs on.
type Conn struct {
	Brokers  []string
	Security *kafkasec.Security // nil for the embedded broker opened here
	Client   *kgo.Client
	Admin    *kadm.Client
	Embedded bool // the embedded broker's data directory, opened by us
	broker   *broker.Broker
}

// ErrInstanceRunning is returned by Connect when the embedded broker's
// data directory is in use: the instance must be stopped first.
var ErrInstanceRunning = errors.New("replay: the embedded broker's data directory is in use; stop `cartstream run` (or `cartstream broker`) on it first")

// Connect connects to the cluster's brokers with its security; with no
// brokers, it opens the embedded broker's data directory (<dataDir>/broker)
// itself on a free loopback port, in plaintext. That fails with
// ErrInstanceRunning while an instance holds it.
func Connect(ctx context.Context, cluster kafkasec.Cluster, dataDir string) (*Conn, error) {
	c := &Conn{Brokers: cluster.Brokers, Security: cluster.Security}
	if len(cluster.Brokers) == 0 {
		dir := filepath.Join(dataDir, "broker")
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("replay: no embedded broker data at %s (give --data-dir of the instance, or --brokers): %w", dir, err)
		}
		b, err := broker.Start(ctx, broker.Config{DataDir: dir, Listen: "127.0.0.1:0"})
		if errors.Is(err, broker.ErrDataDirInUse) {
			return nil, fmt.Errorf("%w (%s)", ErrInstanceRunning, dir)
		}
		if err != nil {
			return nil, err
		}
		c.broker, c.Embedded, c.Brokers, c.Security = b, true, []string{b.Addr()}, nil
	}
	cl, err := c.Cluster().NewClient(kgo.ClientID("cartstream-replay"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("replay: kafka client: %w", err)
	}
	c.Client, c.Admin = cl, kadm.NewClient(cl)
	return c, nil
}

// Cluster is the brokers this connection reaches and their security, for
// the further clients replay creates.
func (c *Conn) Cluster() kafkasec.Cluster {
	return kafkasec.Cluster{Brokers: c.Brokers, Security: c.Security}
}

// Close closes the client and, when opened here, the embedded broker
// (writing its state to its data directory).
func (c *Conn) Close() {
	if c.Client != nil {
		c.Client.Close()
	}
	if c.broker != nil {
		c.broker.Close()
	}
}
