package kafkasec

import (
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is how to reach a Kafka cluster: its bootstrap brokers and the
// security every connection to it must use. Its zero Security is plaintext
// without authentication.
type Cluster struct {
	Brokers  []string
	Security *Security
}

// NewClient is the one constructor of cartstream's franz-go clients: it
// seeds the client with the cluster's brokers and applies its security
// before opts, so no client can forget either. opts must not set
// kgo.SeedBrokers, kgo.DialTLSConfig, kgo.Dialer or kgo.SASL.
func (c Cluster) NewClient(opts ...kgo.Opt) (*kgo.Client, error) {
	all := make([]kgo.Opt, 0, 3+len(opts))
	all = append(all, kgo.SeedBrokers(c.Brokers...))
	all = append(all, c.Security.ClientOpts()...)
	all = append(all, opts...)
	return kgo.NewClient(all...)
}
