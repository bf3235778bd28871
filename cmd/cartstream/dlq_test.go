package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
)

// TestDLQCommands writes two dead letters to an embedded broker and drives
// list, show and redrive through the command line: a dry run, a redrive by
// class, a second redrive refused, and the redrive log created on first
// use.
func TestDLQCommands(t *testing.T) {
	addr := demoBroker(t, 2, "cartstream.dlq", "cart-events")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i, l := range []dlq.Letter{
		{Key: []byte("c-1"), Value: []byte(`{"event_id":"e-1","cart_id":"c-1","type":"item_added","sku":"GONE","qty":1}`), Class: dlq.ClassValidation, Message: "invalid cart event: currency required on a cart's first event", SourceTopic: "cart-events", SourcePartition: 1, SourceOffset: 4, Group: "carts"},
		{Key: []byte("c-2"), Value: []byte{0x00, 0x01}, Class: dlq.ClassDecode, Message: "carts: Avro cart event: short", SourceTopic: "cart-events", SourcePartition: 0, SourceOffset: 9, Group: "carts"},
	} {
		rec := l.Record("cartstream.dlq")
		rec.Partition = int32(i) // letter i at DLQ partition i, offset 0
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	out, err := runCLI(t, "dlq", "list", "--brokers", addr)
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, want := range []string{"cart-events   decode      1        0         1:0", "cart-events   validation  1        0         0:0", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	out, err = runCLI(t, "dlq", "show", "--brokers", addr, "--offset", "0", "--partition", "1")
	if err != nil || !strings.Contains(out, "value       (2 bytes, hex) 0001") || !strings.Contains(out, "cartstream.error.class: decode") {
		t.Errorf("show --offset: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "dlq", "show", "--brokers", addr, "--offset", "0"); err == nil || !strings.Contains(err.Error(), "several DLQ partitions") {
		t.Errorf("show --offset 0 without a partition: %v", err)
	}
	out, err = runCLI(t, "dlq", "show", "--brokers", addr, "--source", "cart-events:1:4")
	if err != nil || !strings.Contains(out, `value       {"event_id":"e-1"`) || !strings.Contains(out, "redriven    no") {
		t.Errorf("show --source: %v\n%s", err, out)
	}

	out, err = runCLI(t, "dlq", "redrive", "--brokers", addr, "--class", "validation", "--dry-run")
	if err != nil || !strings.Contains(out, "would redrive 0:0 (validation from cart-events:1:4) -> cart-events partition") || !strings.Contains(out, "would_redrive=1 ") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	out, err = runCLI(t, "dlq", "redrive", "--brokers", addr, "--class", "validation")
	if err != nil || !strings.Contains(out, "redriven=1 skipped=0 refused=0 failed=0") {
		t.Fatalf("redrive: %v\n%s", err, out)
	}
	out, err = runCLI(t, "dlq", "redrive", "--brokers", addr, "--offset", "0", "--partition", "0")
	if err == nil || !strings.Contains(err.Error(), "already redriven") || !strings.Contains(out, "refused   0:0") {
		t.Errorf("second redrive: %v\n%s", err, out)
	}
	out, err = runCLI(t, "dlq", "show", "--brokers", addr, "--offset", "0", "--partition", "0")
	if err != nil || !strings.Contains(out, "redriven    ") || strings.Contains(out, "redriven    no") {
		t.Errorf("show after redrive: %v\n%s", err, out)
	}
	copies := readTopic(t, addr, "cart-events", 1)
	var marked bool
	for _, h := range copies[0].Headers {
		if h.Key == "cartstream.redrive.dlq_offset" && string(h.Value) == strconv.Itoa(0) {
			marked = true
		}
	}
	if string(copies[0].Key) != "c-1" || !marked {
		t.Errorf("redriven copy %q headers %v", copies[0].Key, copies[0].Headers)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"redrive"}, "choose letters"},
		{[]string{"redrive", "--class", "bogus"}, `--class "bogus"`},
		{[]string{"redrive", "--partition", "1"}, "--partition goes with --offset"},
		{[]string{"redrive", "--source", "cart-events:1"}, "topic:partition:offset"},
		{[]string{"show"}, "either --offset or --source"},
		{[]string{"show", "--offset", "7", "--partition", "0"}, "no such dead letter"},
	} {
		_, err := runCLI(t, append(append([]string{"dlq"}, tc.args...), "--brokers", addr)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dlq %v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}
