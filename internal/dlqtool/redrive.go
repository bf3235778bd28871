package dlqtool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
	"cartstream/internal/partition"
)

// Selection chooses letters to redrive. Letters named by Offsets or
// Sources are chosen explicitly; Class and SourceTopic filter the whole
// DLQ when no letter is named, and narrow the named ones otherwise. An
// empty selection chooses nothing.
type Selection struct {
	Offsets     []Coord  // DLQ coordinates (Partition -1: any partition)
	Sources     []Source // source coordinates
	Class       dlq.Class
	SourceTopic string
}

func (s Selection) explicit() bool { return len(s.Offsets) > 0 || len(s.Sources) > 0 }

func (s Selection) empty() bool { return !s.explicit() && s.Class == "" && s.SourceTopic == "" }

// Outcome is what Redrive did (or, dry, would do) with one letter.
type Outcome struct {
	Entry   Entry
	Redrive *Redrive // the redrive made now, or the earlier one when Skipped
	// Skipped: redriven before (this letter, or another letter of the same
	// source record); Refused when the letter was named explicitly.
	Skipped bool
	Refused bool
	Err     error // not a letter, or the produce failed
}

// Result is a Redrive run.
type Result struct {
	Outcomes  []Outcome
	Redriven  int // now (or, dry, would be)
	Skipped   int // redriven before, chosen by a filter
	Refused   int // redriven before, named explicitly
	Failed    int
	DryRun    bool
	Completed bool // every chosen letter was handled
}

// Options of a redrive run.
type Options struct {
	DryRun bool
	// Now stamps redrive records (wall clock, for operators). Default
	// time.Now.
	Now func() time.Time
	// EnsureLog creates the redrive log when it is missing (see
	// topology.Ensure with EnsureOptions.Only). Nil: a missing log is an
	// error.
	EnsureLog func(context.Context, *kadm.Client) error
}

// Redrive produces the chosen letters back to their source topics and
// records each (see the package doc). Letters redriven before are skipped
// when a filter chose them and refused when they were named; two letters of
// one source record are redriven once. It stops at the first failed
// produce. The error wraps ErrRefused when a named letter was refused,
// ErrNotFound when a named letter does not exist.
func (t *Tool) Redrive(ctx context.Context, sel Selection, opts Options) (Result, error) {
	res := Result{DryRun: opts.DryRun}
	if sel.empty() {
		return res, errors.New("dlqtool: choose letters by DLQ offset, source coordinates, class or source topic")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	chosen, err := t.choose(ctx, sel)
	if err != nil {
		return res, err
	}
	if !opts.DryRun && len(chosen) > 0 {
		exists, err := t.topicExists(ctx, t.cfg.Redrives)
		if err != nil {
			return res, err
		}
		if !exists {
			if opts.EnsureLog == nil {
				return res, fmt.Errorf("dlqtool: redrive log %s does not exist", t.cfg.Redrives)
			}
			if err := opts.EnsureLog(ctx, t.adm); err != nil {
				return res, fmt.Errorf("dlqtool: create redrive log %s: %w", t.cfg.Redrives, err)
			}
		}
	}
	redrives, err := t.Redrives(ctx)
	if err != nil {
		return res, err
	}
	bySource := map[Source]Redrive{}
	for _, rd := range redrives {
		bySource[Source{rd.SourceTopic, rd.SourcePartition, rd.SourceOffset}] = rd
	}
	partitions := map[string]int32{}
	for _, e := range chosen {
		out := Outcome{Entry: e}
		key := RedriveKey(e.Partition, e.Offset)
		prev, done := redrives[key]
		if !done && e.Err == nil {
			prev, done = bySource[sourceOf(e.Letter)]
		}
		switch {
		case e.Err != nil:
			out.Err = e.Err
			res.Failed++
		case done && sel.explicit():
			out.Redrive, out.Refused = &prev, true
			res.Refused++
		case done:
			out.Redrive, out.Skipped = &prev, true
			res.Skipped++
		default:
			rd, err := t.redriveOne(ctx, e, partitions, opts)
			out.Redrive, out.Err = rd, err
			if err != nil {
				res.Failed++
				res.Outcomes = append(res.Outcomes, out)
				return res, err
			}
			res.Redriven++
			if rd != nil {
				bySource[sourceOf(e.Letter)] = *rd
			}
		}
		res.Outcomes = append(res.Outcomes, out)
	}
	res.Completed = true
	if res.Refused > 0 {
		return res, fmt.Errorf("%w: %d letter(s) named were redriven before; each letter is redriven once", ErrRefused, res.Refused)
	}
	return res, nil
}

// choose returns the letters the selection names, in DLQ order.
func (t *Tool) choose(ctx context.Context, sel Selection) ([]Entry, error) {
	filter := func(e Entry) bool {
		if e.Err != nil {
			return sel.Class == "" && sel.SourceTopic == ""
		}
		return (sel.Class == "" || e.Letter.Class == sel.Class) && (sel.SourceTopic == "" || e.Letter.SourceTopic == sel.SourceTopic)
	}
	if !sel.explicit() {
		all, err := t.Letters(ctx)
		if err != nil {
			return nil, err
		}
		var out []Entry
		for _, e := range all {
			if e.Err == nil && filter(e) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	var out []Entry
	add := func(e Entry) {
		if k := RedriveKey(e.Partition, e.Offset); !seen[k] && filter(e) {
			seen[k] = true
			out = append(out, e)
		}
	}
	for _, c := range sel.Offsets {
		e, err := t.At(ctx, c)
		if err != nil {
			return nil, err
		}
		add(e)
	}
	for _, s := range sel.Sources {
		es, err := t.BySource(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			add(e)
		}
	}
	return out, nil
}

// redriveOne produces one letter's key and value to its source topic, then
// records the redrive. Dry, it only says where the copy would go.
func (t *Tool) redriveOne(ctx context.Context, e Entry, partitions map[string]int32, opts Options) (*Redrive, error) {
	l := e.Letter
	n, ok := partitions[l.SourceTopic]
	if !ok {
		details, err := t.adm.ListTopics(ctx, l.SourceTopic)
		if err != nil {
			return nil, fmt.Errorf("dlqtool: list topic %s: %w", l.SourceTopic, err)
		}
		d, ok := details[l.SourceTopic]
		if !ok || d.Err != nil {
			return nil, fmt.Errorf("dlqtool: source topic %s of %s does not exist", l.SourceTopic, RedriveKey(e.Partition, e.Offset))
		}
		n = int32(len(d.Partitions))
		partitions[l.SourceTopic] = n
	}
	rd := &Redrive{
		DLQTopic: t.cfg.DLQ, DLQPartition: e.Partition, DLQOffset: e.Offset,
		SourceTopic: l.SourceTopic, SourcePartition: l.SourcePartition, SourceOffset: l.SourceOffset,
		Class: string(l.Class), Topic: l.SourceTopic, Offset: -1,
	}
	if e.Record.Key == nil {
		if l.SourcePartition >= n {
			return nil, fmt.Errorf("dlqtool: letter %s has no key and its source partition %d is beyond %s's %d partitions",
				RedriveKey(e.Partition, e.Offset), l.SourcePartition, l.SourceTopic, n)
		}
		rd.Partition = l.SourcePartition
	} else {
		rd.Partition = partition.For(e.Record.Key, n)
	}
	if opts.DryRun {
		return rd, nil
	}
	copyRec := &kgo.Record{
		Topic: l.SourceTopic, Key: e.Record.Key, Value: e.Record.Value, Timestamp: l.Timestamp,
		Partition: l.SourcePartition, // used only for a keyless record
		Headers: []kgo.RecordHeader{
			{Key: HeaderRedriveDLQPartition, Value: []byte(strconv.Itoa(int(e.Partition)))},
			{Key: HeaderRedriveDLQOffset, Value: []byte(strconv.FormatInt(e.Offset, 10))},
		},
	}
	written, err := t.cl.ProduceSync(ctx, copyRec).First()
	if err != nil {
		return nil, fmt.Errorf("dlqtool: redrive %s to %s: %w", RedriveKey(e.Partition, e.Offset), l.SourceTopic, err)
	}
	rd.Partition, rd.Offset, rd.At = written.Partition, written.Offset, opts.Now().UTC()
	value, err := json.Marshal(rd)
	if err != nil {
		return nil, err
	}
	logRec := &kgo.Record{Topic: t.cfg.Redrives, Key: []byte(RedriveKey(e.Partition, e.Offset)), Value: value}
	if err := t.cl.ProduceSync(ctx, logRec).FirstErr(); err != nil {
		return rd, fmt.Errorf("dlqtool: %s was redriven to %s partition %d offset %d but recording it in %s failed (a second redrive would send it again): %w",
			RedriveKey(e.Partition, e.Offset), rd.Topic, rd.Partition, rd.Offset, t.cfg.Redrives, err)
	}
	return rd, nil
}

// WriteResult prints one line per letter and a summary line.
func WriteResult(w io.Writer, res Result) error {
	verb := "redriven"
	if res.DryRun {
		verb = "would redrive"
	}
	for _, o := range res.Outcomes {
		e := o.Entry
		at := fmt.Sprintf("%d:%d", e.Partition, e.Offset)
		if e.Err != nil {
			fmt.Fprintf(w, "failed    %s: %v\n", at, e.Err)
			continue
		}
		src := fmt.Sprintf("%s (%s from %s)", at, e.Letter.Class, sourceOf(e.Letter))
		switch {
		case o.Refused:
			fmt.Fprintf(w, "refused   %s: redriven %s to %s partition %d offset %d\n", src, o.Redrive.At.Format(time.RFC3339), o.Redrive.Topic, o.Redrive.Partition, o.Redrive.Offset)
		case o.Skipped:
			fmt.Fprintf(w, "skipped   %s: redriven %s to %s partition %d offset %d\n", src, o.Redrive.At.Format(time.RFC3339), o.Redrive.Topic, o.Redrive.Partition, o.Redrive.Offset)
		case o.Err != nil:
			fmt.Fprintf(w, "failed    %s: %v\n", src, o.Err)
		case res.DryRun:
			fmt.Fprintf(w, "%s %s -> %s partition %d\n", verb, src, o.Redrive.Topic, o.Redrive.Partition)
		default:
			fmt.Fprintf(w, "%s  %s -> %s partition %d offset %d\n", verb, src, o.Redrive.Topic, o.Redrive.Partition, o.Redrive.Offset)
		}
	}
	_, err := fmt.Fprintf(w, "%s=%d skipped=%d refused=%d failed=%d\n", map[bool]string{true: "would_redrive", false: "redriven"}[res.DryRun], res.Redriven, res.Skipped, res.Refused, res.Failed)
	return err
}
