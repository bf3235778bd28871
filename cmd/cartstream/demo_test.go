package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/partition"
	"cartstream/topology"
)

// demoBroker starts an embedded broker and creates the given topics with
// the given partition count.
func demoBroker(t *testing.T, partitions int32, topics ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if len(topics) > 0 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, topics...)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Error(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Addr()
}

// runCLI runs the cartstream command line and returns its output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestDemoSeedWritesTheCatalogIntoTheCDCTopics(t *testing.T) {
	names := topology.DefaultNames()
	const parts = 4
	addr := demoBroker(t, parts, names.Products, names.Promotions, names.Inventory, names.Outbox)

	out, err := runCLI(t, "demo", "seed", "--brokers", addr, "--products", "40", "--promotions", "25", "--seed", "7")
	if err != nil {
		t.Fatalf("demo seed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "seeded 40 products, 25 promotions and 40 inventory rows (105 records)") {
		t.Errorf("output %q", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(names.Products, names.Promotions, names.Inventory, names.Outbox),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	perTopic := map[string]map[string]bool{}
	for n := 0; n < 105; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 105 records: %v", n, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if p := partition.For(r.Key, parts); r.Partition != p {
				t.Errorf("%s %s in partition %d, murmur2 says %d", r.Topic, r.Key, r.Partition, p)
			}
			var key struct {
				Schema  map[string]any    `json:"schema"`
				Payload map[string]string `json:"payload"`
			}
			var value struct {
				Schema  map[string]any `json:"schema"`
				Payload struct {
					Op     string         `json:"op"`
					After  map[string]any `json:"after"`
					Source map[string]any `json:"source"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(r.Key, &key); err != nil || key.Schema == nil {
				t.Fatalf("key %s: %v", r.Key, err)
			}
			if err := json.Unmarshal(r.Value, &value); err != nil || value.Schema == nil {
				t.Fatalf("value on %s: %v", r.Topic, err)
			}
			if value.Payload.Op != "r" || value.Payload.After == nil || value.Payload.Source["connector"] != "postgresql" {
				t.Errorf("%s: op %s source %v", r.Topic, value.Payload.Op, value.Payload.Source)
			}
			pk := key.Payload["sku"]
			if r.Topic == names.Promotions {
				pk = key.Payload["id"]
			}
			if perTopic[r.Topic] == nil {
				perTopic[r.Topic] = map[string]bool{}
			}
			perTopic[r.Topic][pk] = true
		})
	}
	if len(perTopic[names.Products]) != 40 || len(perTopic[names.Promotions]) != 25 || len(perTopic[names.Inventory]) != 40 || len(perTopic[names.Outbox]) != 0 {
		t.Errorf("distinct keys per topic: %d products, %d promotions, %d inventory, %d outbox",
			len(perTopic[names.Products]), len(perTopic[names.Promotions]), len(perTopic[names.Inventory]), len(perTopic[names.Outbox]))
	}
	for sku := range perTopic[names.Products] {
		if !perTopic[names.Inventory][sku] {
			t.Errorf("product %s has no inventory row", sku)
		}
	}
}

func TestDemoSeedFailsClearly(t *testing.T) {
	names := topology.DefaultNames()
	partial := demoBroker(t, 1, names.Products)
	cases := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"no brokers", []string{"demo", "seed"}, []string{"--brokers is required"}},
		{"topics missing", []string{"demo", "seed", "--brokers", partial},
			[]string{names.Promotions, names.Inventory, "do not exist", "cartstream run"}},
		{"negative count", []string{"demo", "seed", "--brokers", partial, "--products", "-1"}, []string{"must not be negative"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("CARTSTREAM_BROKERS", "")
			out, err := runCLI(t, c.args...)
			if err == nil {
				t.Fatalf("succeeded:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), names.Products+",") {
				t.Errorf("error %q names an existing topic as missing", err)
			}
		})
	}
}
