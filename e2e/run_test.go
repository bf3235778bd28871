//go:build e2e

package e2e

import (
	"context"

	"fmt"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"cartstream/topology"
)

// TestRunEmbeddedLifecycle is the foundation's acceptance check as an
// operator would do it: run on an empty data dir, ready within 20 s, kcat -L
// lists the design's topics, SIGTERM exits 0 within 10 s, and a second start
// on the same data dir is ready again with the same topics.
func TestRunEmbeddedLifecycle(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	kafkaAddr, httpAddr := freeAddr(t), freeAddr(t)
	args := []string{"run", "--data-dir", dataDir, "--kafka-listen", kafkaAddr, "--http-listen", httpAddr, "--tick-interval", "200ms"}

	want := map[string]int{}
	for _, tp := range topology.New(topology.Config{}).Topics {
		want[tp.Name] = topology.DefaultPartitions
	}

	for round := 1; round <= 2; round++ {
		p := start(t, bin, args...)
		took := waitReady(t, p, httpAddr, 20*time.Second)
		t.Logf("round %d: ready after %s", round, took.Round(time.Millisecond))

		got := listTopics(t, kafkaAddr)
		for name, parts := range want {
			if got[name] != parts {
				t.Errorf("round %d: topic %s has %d partitions in kcat -L, want %d", round, name, got[name], parts)
			}
		}
		// Ticks reach every partition of both ticks topics: read the
		// first record of each partition with kcat.
		if round == 1 {
			for _, topic := range []string{"cartstream.carts-ticks", "cartstream.inventory-ticks"} {
				for p := range topology.DefaultPartitions {
					out := kcat(t, "", "-C", "-b", kafkaAddr, "-t", topic, "-p", fmt.Sprint(p), "-o", "beginning", "-c", "1", "-f", "%p %s\n")
					if !strings.HasPrefix(out, fmt.Sprintf("%d {", p)) || !strings.Contains(out, `"ts_ms"`) {
						t.Errorf("first tick of %s/%d = %q", topic, p, out)
					}
				}
			}
		}
		// The demo catalog is seeded once, on the empty data dir.
		if got := endOffsetSum(t, kafkaAddr, "shop.public.products"); got != 300 {
			t.Errorf("round %d: shop.public.products holds %d records, want the 300 seeded once", round, got)
		}

		if round == 1 {
			metrics := httpGet(t, "http://"+httpAddr+"/metrics")
			for _, want := range []string{
				`cartstream_ticks_emitted_total{topic="cartstream.carts-ticks"}`,
				`cartstream_component_restarts_total{component="ticks"} 0`,
				fmt.Sprintf("cartstream_topics_created_total %d", len(want)),
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		}

		took, err := p.stop(t, 15*time.Second)
		if err != nil {
			t.Fatalf("round %d: exit after SIGTERM: %v", round, err)
		}
		if took > 10*time.Second {
			t.Errorf("round %d: SIGTERM took %s, want <= 10s", round, took)
		}
	}
}

var topicLine = regexp.MustCompile(`topic "([^"]+)" with (\d+) partitions`)

func listTopics(t *testing.T, addr string) map[string]int {
	t.Helper()
	out := kcat(t, "", "-L", "-b", addr)
	got := map[string]int{}
	for _, m := range topicLine.FindAllStringSubmatch(out, -1) {
		n := 0
		for _, c := range m[2] {
			n = n*10 + int(c-'0')
		}
		got[m[1]] = n
	}
	return got
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func endOffsetSum(t *testing.T, addr, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}
