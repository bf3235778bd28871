package dlqtool

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// NotALetter is the source topic and class under which List counts DLQ
// records that are not dead letters (their headers are missing or broken).
const NotALetter = "(not a dead letter)"

// Span is a range of offsets in one partition.
type Span struct {
	Partition   int32
	First, Last int64
}

// Row is one line of List: the letters of one source topic and class.
type Row struct {
	SourceTopic string
	Class       string
	Letters     int
	Redriven    int
	DLQ         []Span // where the letters are, by DLQ partition
	Source      []Span // where their source records were, by source partition
}

// List counts the dead letters by source topic and error class, with the
// DLQ and source offset ranges of each and how many were redriven, sorted
// by source topic and class.
func (t *Tool) List(ctx context.Context) ([]Row, error) {
	letters, err := t.Letters(ctx)
	if err != nil {
		return nil, err
	}
	redrives, err := t.Redrives(ctx)
	if err != nil {
		return nil, err
	}
	return summarize(letters, redrives), nil
}

func summarize(letters []Entry, redrives map[string]Redrive) []Row {
	type key struct{ topic, class string }
	rows := map[key]*Row{}
	extend := func(spans []Span, p int32, o int64) []Span {
		for i := range spans {
			if spans[i].Partition == p {
				spans[i].First = min(spans[i].First, o)
				spans[i].Last = max(spans[i].Last, o)
				return spans
			}
		}
		return append(spans, Span{Partition: p, First: o, Last: o})
	}
	for _, e := range letters {
		k := key{NotALetter, "-"}
		if e.Err == nil {
			k = key{e.Letter.SourceTopic, string(e.Letter.Class)}
		}
		r := rows[k]
		if r == nil {
			r = &Row{SourceTopic: k.topic, Class: k.class}
			rows[k] = r
		}
		r.Letters++
		if _, ok := redrives[RedriveKey(e.Partition, e.Offset)]; ok {
			r.Redriven++
		}
		r.DLQ = extend(r.DLQ, e.Partition, e.Offset)
		if e.Err == nil {
			r.Source = extend(r.Source, e.Letter.SourcePartition, e.Letter.SourceOffset)
		}
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		for _, spans := range [][]Span{r.DLQ, r.Source} {
			sort.Slice(spans, func(i, j int) bool { return spans[i].Partition < spans[j].Partition })
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SourceTopic != out[j].SourceTopic {
			return out[i].SourceTopic < out[j].SourceTopic
		}
		return out[i].Class < out[j].Class
	})
	return out
}

func spansText(spans []Span) string {
	if len(spans) == 0 {
		return "-"
	}
	parts := make([]string, len(spans))
	for i, s := range spans {
		if s.First == s.Last {
			parts[i] = fmt.Sprintf("%d:%d", s.Partition, s.First)
		} else {
			parts[i] = fmt.Sprintf("%d:%d-%d", s.Partition, s.First, s.Last)
		}
	}
	return strings.Join(parts, " ")
}

// WriteList prints rows as a table: offsets as partition:first-last.
func WriteList(w io.Writer, dlqTopic string, rows []Row) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "%s holds no dead letters\n", dlqTopic)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE TOPIC\tCLASS\tLETTERS\tREDRIVEN\tDLQ OFFSETS (partition:first-last)\tSOURCE OFFSETS")
	total, redriven := 0, 0
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", r.SourceTopic, r.Class, r.Letters, r.Redriven, spansText(r.DLQ), spansText(r.Source))
		total += r.Letters
		redriven += r.Redriven
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t\t\n", total, redriven)
	return tw.Flush()
}

// WriteLetter prints one DLQ record in full: where it is, its timestamp,
// every header, key and value (as text when printable, else hex), and its
// redrive if it had one.
func WriteLetter(w io.Writer, dlqTopic string, e Entry, rd *Redrive) error {
	var b strings.Builder
	r := e.Record
	fmt.Fprintf(&b, "dead letter %s partition %d offset %d\n", dlqTopic, e.Partition, e.Offset)
	if e.Err != nil {
		fmt.Fprintf(&b, "  not a dead letter: %v\n", e.Err)
	} else {
		l := e.Letter
		fmt.Fprintf(&b, "source      %s partition %d offset %d (group %s)\n", l.SourceTopic, l.SourcePartition, l.SourceOffset, l.Group)
		fmt.Fprintf(&b, "class       %s\n", l.Class)
		fmt.Fprintf(&b, "message     %s\n", l.Message)
	}
	fmt.Fprintf(&b, "timestamp   %s (the source record's)\n", r.Timestamp.UTC().Format(time.RFC3339Nano))
	b.WriteString("headers\n")
	for _, h := range r.Headers {
		fmt.Fprintf(&b, "  %s: %s\n", h.Key, bytesText(h.Value))
	}
	if r.Key == nil {
		b.WriteString("key         (null)\n")
	} else {
		fmt.Fprintf(&b, "key         %s\n", bytesText(r.Key))
	}
	if r.Value == nil {
		b.WriteString("value       (null)\n")
	} else {
		fmt.Fprintf(&b, "value       %s\n", bytesText(r.Value))
	}
	if rd != nil {
		fmt.Fprintf(&b, "redriven    %s to %s partition %d offset %d\n", rd.At.UTC().Format(time.RFC3339), rd.Topic, rd.Partition, rd.Offset)
	} else {
		b.WriteString("redriven    no\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bytesText renders bytes as text when they are printable UTF-8, else as
// hex with their length.
func bytesText(v []byte) string {
	if printable(v) {
		return string(v)
	}
	return fmt.Sprintf("(%d bytes, hex) %s", len(v), hex.EncodeToString(v))
}

func printable(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if !unicode.IsPrint(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
