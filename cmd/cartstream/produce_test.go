package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/partition"
	"cartstream/internal/registry/registrytest"
	"cartstream/schemas"
)

// runCLIWithInput runs the command line with stdin and returns stdout and
// stderr apart.
func runCLIWithInput(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// readTopic reads n records of topic from the start.
func readTopic(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("read %s: %v (have %d of %d)", topic, err, len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceCommand(t *testing.T) {
	addr := demoBroker(t, 3, "cart-events")
	events := strings.Join([]string{
		`{"event_id":"e-1","cart_id":"c-1","type":"item_added","sku":"SKU-1","qty":2,"currency":"USD"}`,
		`{"event_id":"e-2","cart_id":"c-2","type":"item_added","sku":"SKU-1","qty":0,"currency":"USD"}`,
		``,
		`{"event_id":"e-3","cart_id":"c-3","type":"cart_cleared"}`,
	}, "\n")
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte(events), 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := runCLIWithInput(t, "", "produce", "--brokers", addr, "--file", file)
	if err != nil {
		t.Fatalf("produce: %v\n%s", err, errOut)
	}
	if !strings.HasPrefix(out, "produced=2 skipped=1 duration_s=") {
		t.Errorf("summary %q", out)
	}
	if !strings.HasPrefix(errOut, "line 2: cart-event schema: at '/qty': minimum: got 0, want 1") {
		t.Errorf("stderr %q", errOut)
	}

	out, errOut, err = runCLIWithInput(t, events, "produce", "--brokers", addr, "--on-error", "stop")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("--on-error stop: err %v", err)
	}
	if !strings.HasPrefix(out, "produced=1 skipped=1 ") || !strings.HasPrefix(errOut, "line 2: ") {
		t.Errorf("--on-error stop: stdout %q stderr %q", out, errOut)
	}
	recs := readTopic(t, addr, "cart-events", 3)
	for _, r := range recs {
		if want := partition.For(r.Key, 3); r.Partition != want {
			t.Errorf("%s in partition %d, want %d", r.Key, r.Partition, want)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "avro"}, "needs --registry"},
		{[]string{"--format", "xml"}, `--format "xml"`},
		{[]string{"--on-error", "ignore"}, `--on-error "ignore"`},
		{[]string{"--topic", "no-such-topic"}, "does not exist"},
		{[]string{"--registry", "http://127.0.0.1:1"}, "only for --format avro"},
	} {
		_, _, err := runCLIWithInput(t, "", append([]string{"produce", "--brokers", addr}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestProduceAvroCommand registers the cart-event schema in a fake
// registry and checks the framing of what it produced.
func TestProduceAvroCommand(t *testing.T) {
	addr := demoBroker(t, 2, "cart-events")
	reg := registrytest.Start()
	defer reg.Close()
	out, errOut, err := runCLIWithInput(t, `{"event_id":"e-1","cart_id":"c-1","type":"item_added","sku":"SKU-1","qty":2,"currency":"USD"}`,
		"produce", "--brokers", addr, "--format", "avro", "--registry", reg.URL())
	if err != nil || !strings.HasPrefix(out, "produced=1 skipped=0 ") {
		t.Fatalf("produce: %v %q %q", err, out, errOut)
	}
	ids := reg.Subjects()["cart-events-value"]
	if len(ids) != 1 {
		t.Fatalf("subjects %v", reg.Subjects())
	}
	r := readTopic(t, addr, "cart-events", 1)[0]
	id, body, err := schemas.SplitConfluent(r.Value)
	if err != nil || id != ids[0] || len(body) == 0 || string(r.Key) != "c-1" {
		t.Errorf("record %q %x: id %d err %v", r.Key, r.Value, id, err)
	}
}

// TestProduceAgreesWithKcat produces the same keys with `cartstream
// produce` and with kcat -K '\x1f' -X partitioner=murmur2_random (the
// README's recipe) and checks both land every key in the same partition.
func TestProduceAgreesWithKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed")
	}
	addr := demoBroker(t, 7, "cart-events")
	var lines, kcatInput strings.Builder
	const n = 50
	for i := range n {
		line := `{"event_id":"e-` + string(rune('a'+i%26)) + `","cart_id":"cart-` + strings.Repeat("x", i) + `","type":"cart_cleared"}`
		lines.WriteString(line + "\n")
		kcatInput.WriteString("cart-" + strings.Repeat("x", i) + "\x1f" + line + "\n")
	}
	if _, errOut, err := runCLIWithInput(t, lines.String(), "produce", "--brokers", addr); err != nil {
		t.Fatalf("produce: %v %s", err, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-P", "-b", addr, "-t", "cart-events", "-K", `\x1f`, "-X", "partitioner=murmur2_random")
	cmd.Stdin = strings.NewReader(kcatInput.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	where := map[string][]int32{}
	values := map[string][]string{}
	for _, r := range readTopic(t, addr, "cart-events", 2*n) {
		where[string(r.Key)] = append(where[string(r.Key)], r.Partition)
		values[string(r.Key)] = append(values[string(r.Key)], string(r.Value))
	}
	if len(where) != n {
		t.Fatalf("%d distinct keys, want %d", len(where), n)
	}
	for k, ps := range where {
		if len(ps) != 2 || ps[0] != ps[1] {
			t.Errorf("key %q: partitions %v", k, ps)
		}
		if vs := values[k]; vs[0] != vs[1] {
			t.Errorf("key %q: values differ: %q vs %q", k, vs[0], vs[1])
		}
	}
}
