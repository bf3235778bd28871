package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/topology"
)

// replayDataDir makes an embedded data dir as a stopped instance leaves it:
// the topics, 10 cart events per partition of cart-events, the carts group
// committed at 6 of them, and a local store per carts table partition.
func replayDataDir(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topo := topology.New(topology.Config{Partitions: 2})
	if _, err := topo.Ensure(ctx, adm, topology.EnsureOptions{}); err != nil {
		t.Fatal(err)
	}
	g, _ := topo.Group(topology.GroupCarts)
	var offs kadm.Offsets
	for p := range int32(2) {
		for i := range 10 {
			r := &kgo.Record{Topic: topo.Names.CartEvents, Partition: p, Key: []byte(fmt.Sprint("c", p)), Value: []byte(fmt.Sprint(i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		offs.Add(kadm.Offset{Topic: topo.Names.CartEvents, Partition: p, At: 6})
		if err := os.MkdirAll(filepath.Join(dir, g.ID, fmt.Sprintf("%s.%d", g.Table, p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := adm.CommitAllOffsets(ctx, g.ID, offs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runReplayCLI(args ...string) (string, error) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return spaces.ReplaceAllString(out.String(), " "), err
}

// spaces folds the plan's column padding, so tests need not know widths.
var spaces = regexp.MustCompile(`[ \t]+`)

// TestReplayDryRun prints the plan of every scenario flag format and changes
// nothing.
func TestReplayDryRun(t *testing.T) {
	dir := replayDataDir(t)
	csv := filepath.Join(t.TempDir(), "offsets.csv")
	if err := os.WriteFile(csv, []byte("topic,partition,offset\ncart-events,1,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	base := []string{"replay", "--group", "carts", "--data-dir", dir, "--partitions", "2", "--dry-run"}
	tests := []struct {
		name  string
		args  []string
		want  []string
		avoid []string
	}{
		{"earliest", []string{"--to-earliest"}, []string{
			"cart-events 0 6 -> 0", "cart-events 1 6 -> 0",
			"partition 0 records 0..0", "cartstream-carts-table.0", "cartstream-carts-table.1",
			"state before the point: none", "cart-events 0 below 6", "reset epoch: 1"}, nil},
		{"offset", []string{"--to-offset", "cart-events:1:3"}, []string{
			"cart-events 1 6 -> 3", "only table partitions [1] are rebuilt", "not named: its committed offset stays",
			"cartstream-carts-table.1", "state before the point: DROPPED", "cart-events 1 below 6"},
			[]string{"cart-events 0", "cartstream-carts-table.0"}},
		{"csv", []string{"--from-file", csv}, []string{"--from-file " + csv, "cart-events 1 6 -> 3", "only table partitions [1]"}, nil},
		{"datetime in the future", []string{"--to-datetime", future}, []string{"cart-events 0 6 -> 10", "DROPPED"}, []string{"below"}},
		{"go duration", []string{"--by-duration", "2h"}, []string{"--by-duration 2h0m0s (from ", "cart-events 0 6 -> 0", "DROPPED"}, nil},
		{"iso duration", []string{"--by-duration", "PT2H"}, []string{"--by-duration 2h0m0s (from ", "cart-events 1 6 -> 0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runReplayCLI(append(append([]string{}, base...), tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range append(tt.want, "dry run: nothing changed") {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
		})
	}
	// Nothing changed: the stores are there and a new plan shows the same
	// committed offsets and epoch.
	for p := range 2 {
		if _, err := os.Stat(filepath.Join(dir, "cartstream-carts", fmt.Sprintf("cartstream-carts-table.%d", p))); err != nil {
			t.Errorf("a dry run wiped a store: %v", err)
		}
	}
	if out, err := runReplayCLI(append(append([]string{}, base...), "--to-earliest")...); err != nil || !strings.Contains(out, "0 6 -> 0") || !strings.Contains(out, "reset epoch: 1") {
		t.Errorf("after dry runs: %v\n%s", err, out)
	}

	errs := []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--group", "carts", "--data-dir", dir, "--dry-run"}, "exactly one of"},
		{[]string{"replay", "--group", "carts", "--data-dir", dir, "--to-earliest", "--by-duration", "2h"}, "exactly one of"},
		{[]string{"replay", "--group", "carts", "--data-dir", dir, "--by-duration", "P1M"}, "no fixed length"},
		{[]string{"replay", "--group", "carts", "--data-dir", dir, "--to-offset", "shop.public.products:0:1", "--dry-run"}, "not an input of carts"},
		{[]string{"replay", "--group", "inventory", "--data-dir", dir, "--to-earliest"}, "inventory group holds decisions"},
		{[]string{"replay", "--group", "nope", "--data-dir", dir, "--to-earliest"}, "unknown group"},
		{[]string{"replay", "--group", "carts", "--data-dir", t.TempDir(), "--to-earliest"}, "no embedded broker data"},
	}
	for _, e := range errs {
		out, err := runReplayCLI(e.args...)
		if err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%v: err %v, want %q\n%s", e.args[1:], err, e.want, out)
		}
	}
	out, err := runReplayCLI("replay", "--group", "inventory", "--data-dir", dir, "--dry-run")
	if err != nil || !strings.Contains(out, "inventory holds decisions") {
		t.Errorf("inventory local rebuild dry run: %v\n%s", err, out)
	}
}
