package streams

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/kafkasec"
	"cartstream/internal/kafkasec/kafkasectest"
)

// secureCase is one way of securing the embedded broker and the settings
// clients use to reach it.
type secureCase struct {
	name   string
	broker func(kafkasectest.PKI) broker.Config // TLS and SASL of the broker
	client func(kafkasectest.PKI) kafkasec.Config
	// wrong is client settings the broker must refuse, and what the
	// error must say.
	wrong    func(kafkasectest.PKI) kafkasec.Config
	wrongErr string
}

const (
	secureUser = "cartstream"
	securePass = "s3cret-Pa55"
)

func saslCase(name string, mech kafkasec.Mechanism, tls bool) secureCase {
	return secureCase{
		name: name,
		broker: func(p kafkasectest.PKI) broker.Config {
			c := broker.Config{SASLUsers: []broker.SASLUser{{Mechanism: mech, User: secureUser, Password: securePass}}}
			if tls {
				c.TLSCert, c.TLSKey = p.BrokerCert, p.BrokerKey
			}
			return c
		},
		client: func(p kafkasectest.PKI) kafkasec.Config {
			c := kafkasec.Config{SASLMechanism: string(mech), SASLUsername: secureUser, SASLPassword: securePass}
			if tls {
				c.TLS, c.TLSCA = true, p.CA
			}
			return c
		},
		wrong: func(p kafkasectest.PKI) kafkasec.Config {
			c := kafkasec.Config{SASLMechanism: string(mech), SASLUsername: secureUser, SASLPassword: "not-" + securePass}
			if tls {
				c.TLS, c.TLSCA = true, p.CA
			}
			return c
		},
		wrongErr: "SASL Authentication failed",
	}
}

var secureCases = []secureCase{
	saslCase("SASL_PLAINTEXT PLAIN", kafkasec.Plain, false),
	saslCase("SASL_PLAINTEXT SCRAM-SHA-256", kafkasec.ScramSHA256, false),
	saslCase("SASL_PLAINTEXT SCRAM-SHA-512", kafkasec.ScramSHA512, false),
	{
		name: "SSL with client certificates",
		broker: func(p kafkasectest.PKI) broker.Config {
			return broker.Config{TLSCert: p.BrokerCert, TLSKey: p.BrokerKey, TLSClientCA: p.CA}
		},
		client: func(p kafkasectest.PKI) kafkasec.Config {
			return kafkasec.Config{TLS: true, TLSCA: p.CA, TLSCert: p.ClientCert, TLSKey: p.ClientKey}
		},
		// A broker certificate signed by a CA the client does not
		// trust.
		wrong: func(p kafkasectest.PKI) kafkasec.Config {
			return kafkasec.Config{TLS: true, TLSCA: p.OtherCA, TLSCert: p.ClientCert, TLSKey: p.ClientKey}
		},
		wrongErr: "certificate signed by unknown authority",
	},
	saslCase("SASL_SSL SCRAM-SHA-256", kafkasec.ScramSHA256, true),
}

// TestSecureBroker runs, for each way of securing the broker, a goka
// processor built by the Factory (consumer group, producer, topic manager),
// a view (consumer) and franz-go clients built by kafkasec.Cluster against
// the embedded broker over TCP, all from the same kafkasec.Config: a record
// produced by franz-go reaches the processor, whose table the view serves
// and a franz-go consumer reads from the changelog. Settings the broker must
// refuse fail every client, within a bound and with an error saying why.
func TestSecureBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	for i, tc := range secureCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			pki := kafkasectest.WritePKI(t, dir)
			bcfg := tc.broker(pki)
			bcfg.DataDir, bcfg.Listen = filepath.Join(dir, "broker"), "127.0.0.1:0"
			b, err := broker.Start(ctx, bcfg)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()

			sec, err := tc.client(pki).Load()
			if err != nil {
				t.Fatal(err)
			}
			cluster := kafkasec.Cluster{Brokers: []string{b.Addr()}, Security: sec}
			cl, err := cluster.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			group := goka.Group("secure" + string(rune('a'+i)))
			input := goka.Stream(string(group) + "-in")
			compact := "compact"
			if _, err := adm.CreateTopic(ctx, 2, 1, nil, string(input)); err != nil {
				t.Fatal(err)
			}
			if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"cleanup.policy": &compact}, string(goka.GroupTable(group))); err != nil {
				t.Fatal(err)
			}

			f := NewFactory(Config{Brokers: cluster.Brokers, Security: sec, DataDir: filepath.Join(dir, "state")})
			p, err := f.NewProcessor(goka.DefineGroup(group,
				goka.Input(input, new(codec.String), func(ctx goka.Context, msg any) { ctx.SetValue(msg) }),
				goka.Persist(new(codec.String)),
			), ProcessorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- p.Run(runCtx) }()
			defer func() { stop(); <-done }()

			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(input), Key: []byte("cart-1"), Value: []byte("hello")}).FirstErr(); err != nil {
				t.Fatalf("franz-go produce: %v", err)
			}
			changelog, err := cluster.NewClient(
				kgo.ConsumeTopics(string(goka.GroupTable(group))),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer changelog.Close()
			var got string
			for got == "" {
				fs := changelog.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatalf("franz-go consume of the processor's changelog: %v", err)
				}
				fs.EachRecord(func(r *kgo.Record) { got = string(r.Key) + "=" + string(r.Value) })
			}
			if got != "cart-1=hello" {
				t.Fatalf("changelog record %q, want cart-1=hello", got)
			}

			v, err := f.NewView(goka.GroupTable(group), new(codec.String))
			if err != nil {
				t.Fatal(err)
			}
			viewCtx, stopView := context.WithCancel(ctx)
			viewDone := make(chan error, 1)
			go func() { viewDone <- v.Run(viewCtx) }()
			defer func() { stopView(); <-viewDone }()
			for !v.Recovered() {
				select {
				case <-ctx.Done():
					t.Fatal("view did not recover")
				case err := <-viewDone:
					t.Fatalf("view stopped: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			if val, err := v.Get("cart-1"); err != nil || val != "hello" {
				t.Fatalf("view Get = %v, %v; want hello", val, err)
			}

			// Refused settings: a franz-go client fails its first
			// request, the processor its build or run, each well
			// within the bound and with a clear reason.
			wrong, err := tc.wrong(pki).Load()
			if err != nil {
				t.Fatal(err)
			}
			wrongCluster := kafkasec.Cluster{Brokers: cluster.Brokers, Security: wrong}
			bad, err := wrongCluster.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			reqCtx, reqCancel := context.WithTimeout(ctx, 15*time.Second)
			start := time.Now()
			_, err = kadm.NewClient(bad).ListTopics(reqCtx)
			reqCancel()
			if err == nil || !strings.Contains(err.Error(), tc.wrongErr) {
				t.Fatalf("franz-go with refused settings: err %v after %s, want one saying %q", err, time.Since(start), tc.wrongErr)
			}
			if tc.wrongErr == "SASL Authentication failed" && !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Errorf("franz-go error %v is not kerr.SaslAuthenticationFailed", err)
			}
			wf := NewFactory(Config{Brokers: cluster.Brokers, Security: wrong, DataDir: filepath.Join(dir, "wrong")})
			err = runBriefly(ctx, wf, group+"-wrong", input)
			if err == nil || !strings.Contains(err.Error(), tc.wrongErr) {
				t.Fatalf("goka processor with refused settings: %v, want an error saying %q", err, tc.wrongErr)
			}
			// goka formats sarama's errors with %v, so only the
			// text survives: sarama's "kafka server: SASL
			// Authentication failed: <the broker's message>".
		})
	}
}

// runBriefly builds and runs a processor and returns its build or run
// error; a processor still running after 20 s is an error too, not a hang.
func runBriefly(ctx context.Context, f *Factory, group goka.Group, input goka.Stream) error {
	p, err := f.NewProcessor(goka.DefineGroup(group,
		goka.Input(input, new(codec.String), func(goka.Context, any) {}),
	), ProcessorOptions{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = p.Run(ctx)
	if ctx.Err() != nil {
		return errors.New("processor with refused settings still running after 20s")
	}
	return err
}
