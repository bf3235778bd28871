package deploycheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/topology"
)

// fakeKafkaTopicsEnv makes the test binary act as kafka-topics.sh (see
// TestMain), against a real Kafka-protocol broker.
const fakeKafkaTopicsEnv = "DEPLOYCHECK_FAKE_KAFKA_TOPICS"

func TestMain(m *testing.M) {
	if os.Getenv(fakeKafkaTopicsEnv) == "1" {
		os.Exit(fakeKafkaTopics(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestCreateTopicsScriptIsGenerated: the committed script is exactly what
// the generator prints for the topology as declared now.
func TestCreateTopicsScriptIsGenerated(t *testing.T) {
	want := TopicsScript(topology.New(topology.Config{}))
	if have := readRepoFile(t, TopicsScriptPath); !bytes.Equal(have, want) {
		t.Errorf("%s is stale: run `make deploy-gen` (go run ./deploy/deploycheck/gentopics > %s)", TopicsScriptPath, TopicsScriptPath)
	}
}

var createLine = regexp.MustCompile(`^create (\S+) ("\$PARTITIONS"|"\$\(partitions_of \S+\)")((?: --config \S+)*)$`)

// TestCreateTopicsScriptMatchesTopology reads the script's create lines
// independently of the generator: every declared topic once, nothing else,
// with its partition count (the cdc tables and loops: their source's, read
// after the source exists) and its configs.
func TestCreateTopicsScriptMatchesTopology(t *testing.T) {
	topo := topology.New(topology.Config{})
	created := map[string]bool{}
	for _, line := range strings.Split(string(readRepoFile(t, TopicsScriptPath)), "\n") {
		if !strings.HasPrefix(line, "create ") {
			continue
		}
		m := createLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected create line %q", line)
			continue
		}
		name, parts := m[1], m[2]
		tp, ok := topo.Topic(name)
		if !ok {
			t.Errorf("the script creates %s, which the topology does not declare", name)
			continue
		}
		if created[name] {
			t.Errorf("the script creates %s twice", name)
		}
		wantParts := `"$PARTITIONS"`
		if src := SourceOf(topo, name); src != "" {
			wantParts = fmt.Sprintf(`"$(partitions_of %s)"`, src)
			if !created[src] {
				t.Errorf("%s reads the partition count of %s before the script creates it", name, src)
			}
		}
		if parts != wantParts {
			t.Errorf("%s: partitions %s, want %s", name, parts, wantParts)
		}
		got := map[string]string{}
		for _, kv := range strings.Fields(strings.ReplaceAll(m[3], "--config", "")) {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
		want := tp.Configs()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: configs %v, want %v", name, got, want)
		}
		if tp.Compacted != (got["cleanup.policy"] == "compact") {
			t.Errorf("%s: compacted %v in the topology, cleanup.policy %q in the script", name, tp.Compacted, got["cleanup.policy"])
		}
		created[name] = true
	}
	for _, tp := range topo.Topics {
		if !created[tp.Name] {
			t.Errorf("the script does not create %s", tp.Name)
		}
	}
}

// TestCreateTopicsScriptRuns runs the script with /bin/sh against the
// embedded broker, with kafka-topics.sh played by this test binary (the
// same flags, over the Kafka protocol), twice: then every declared topic
// exists with its partitions and configs, the cdc tables follow a source
// created beforehand with another count, and `cartstream run`'s own topic
// check (topology.Ensure) finds nothing to create and co-partitioning right.
func TestCreateTopicsScriptRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// Debezium got there first with another partition count.
	if _, err := adm.CreateTopic(ctx, 5, 1, nil, "shop.public.products"); err != nil {
		t.Fatal(err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	fake := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' \"$@\"\n", fakeKafkaTopicsEnv, self)
	if err := os.WriteFile(filepath.Join(bin, "kafka-topics.sh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	const parts = 3
	for run := 1; run <= 2; run++ {
		cmd := exec.CommandContext(ctx, sh, repoPath(TopicsScriptPath))
		cmd.Env = append(os.Environ(), "BOOTSTRAP_SERVER="+b.Addr(), "KAFKA_BIN="+bin, fmt.Sprintf("PARTITIONS=%d", parts),
			"REPLICATION_FACTOR=1", "MIN_INSYNC_REPLICAS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		if !strings.Contains(string(out), "topic cartstream-cdc-products-table: 5 partitions") {
			t.Errorf("run %d: output lacks the cdc table's count:\n%s", run, out)
		}
	}

	topo := topology.New(topology.Config{Partitions: parts})
	var names []string
	for _, tp := range topo.Topics {
		names = append(names, tp.Name)
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range topo.Topics {
		want := int32(parts)
		if tp.Name == "shop.public.products" || SourceOf(topo, tp.Name) == "shop.public.products" {
			want = 5
		}
		td, ok := details[tp.Name]
		if !ok || td.Err != nil {
			t.Errorf("%s was not created", tp.Name)
			continue
		}
		if got := int32(len(td.Partitions)); got != want {
			t.Errorf("%s: %d partitions, want %d", tp.Name, got, want)
		}
		if tp.Name == "shop.public.products" {
			continue // created above without configs
		}
		rc, err := configs.On(tp.Name, nil)
		if err != nil {
			t.Errorf("%s: configs: %v", tp.Name, err)
			continue
		}
		have := map[string]string{}
		for _, c := range rc.Configs {
			if c.Value != nil {
				have[c.Key] = *c.Value
			}
		}
		wantCfg := tp.Configs()
		wantCfg["min.insync.replicas"] = "1"
		for k, v := range wantCfg {
			if have[k] != v {
				t.Errorf("%s: %s=%q, want %q", tp.Name, k, have[k], v)
			}
		}
	}

	res, err := topo.Ensure(ctx, adm, topology.EnsureOptions{})
	if err != nil {
		t.Fatalf("Ensure after the script: %v", err)
	}
	if len(res.Created) > 0 {
		t.Errorf("cartstream would still create %v", res.Created)
	}
}

// fakeKafkaTopics implements the part of kafka-topics.sh the script uses
// (--create --if-not-exists --topic --partitions --replication-factor
// --config, --describe --topic) over the Kafka protocol, printing what the
// real tool prints for --describe's first line.
func fakeKafkaTopics(args []string) int {
	var (
		bootstrap, topic, mode string
		parts                  int32 = -1
		rf                     int16 = -1
		ifNotExists            bool
		configs                = map[string]*string{}
	)
	for i := 0; i < len(args); i++ {
		next := func() string {
			i++
			if i >= len(args) {
				return ""
			}
			return args[i]
		}
		switch args[i] {
		case "--bootstrap-server":
			bootstrap = next()
		case "--command-config":
			next()
		case "--topic":
			topic = next()
		case "--partitions":
			n, _ := strconv.Atoi(next())
			parts = int32(n)
		case "--replication-factor":
			n, _ := strconv.Atoi(next())
			rf = int16(n)
		case "--config":
			k, v, _ := strings.Cut(next(), "=")
			configs[k] = kadm.StringPtr(v)
		case "--if-not-exists":
			ifNotExists = true
		case "--create", "--describe":
			mode = args[i]
		default:
			fmt.Fprintf(os.Stderr, "fake kafka-topics.sh: unknown argument %q\n", args[i])
			return 2
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch mode {
	case "--create":
		resp, err := adm.CreateTopic(ctx, parts, rf, configs, topic)
		if err == nil {
			err = resp.Err
		}
		if errors.Is(err, kerr.TopicAlreadyExists) && ifNotExists {
			return 0
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error while executing topic command : %v\n", err)
			return 1
		}
		fmt.Printf("Created topic %s.\n", topic)
	case "--describe":
		details, err := adm.ListTopics(ctx, topic)
		td, ok := details[topic]
		if err != nil || !ok || td.Err != nil {
			fmt.Fprintf(os.Stderr, "Error while executing topic command : Topic '%s' does not exist as expected\n", topic)
			return 1
		}
		ps := make([]int32, 0, len(td.Partitions))
		for p := range td.Partitions {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		fmt.Printf("Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: \n", topic, td.ID, len(ps), td.Partitions.NumReplicas())
		for _, p := range ps {
			fmt.Printf("\tTopic: %s\tPartition: %d\tLeader: %d\n", topic, p, td.Partitions[p].Leader)
		}
	default:
		fmt.Fprintln(os.Stderr, "fake kafka-topics.sh: want --create or --describe")
		return 2
	}
	return 0
}
