// Package producer writes cart events to Kafka as a well-behaved storefront
// would (`cartstream produce`): one JSON object a line, each validated
// against the published cart-event JSON Schema and the carts group's own
// parser before it is sent, keyed by cart_id, placed by Kafka's default
// murmur2 partitioner, acknowledged by all in-sync replicas, as JSON or as
// Confluent-framed Avro (schemas/avro/cart_event.avsc).
//
// A bad line is reported with its line number and the reason and is either
// skipped or stops the run; it is never sent, so the carts group's
// dead-letter topic sees only what other producers got wrong. The package
// owns line handling and the produce loop; the client, the registry and the
// flags belong to the caller.
package producer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/processors/carts"
	"cartstream/schemas"
)

// MaxLineBytes bounds one input line (1 MiB, Kafka's default
// max.message.bytes); a longer line is reported and skipped whole.
const MaxLineBytes = 1 << 20

// Format is the encoding of produced values.
type Format string

// Formats.
const (
	// FormatJSON sends each line's bytes unchanged.
	FormatJSON Format = "json"
	// FormatAvro sends the Confluent framing (magic byte 0, the schema id
	// of cart_event.avsc under <topic>-value) and the Avro body.
	FormatAvro Format = "avro"
)

// OnError says what a bad line does to the run.
type OnError string

// Policies for bad lines.
const (
	// Skip reports the line and goes on (the default).
	Skip OnError = "skip"
	// Stop reports the line and ends the run with ErrStopped once the
	// lines before it are acknowledged.
	Stop OnError = "stop"
)

// ErrStopped is returned (wrapped with the line number) when a bad line
// stops a run under OnError Stop.
var ErrStopped = errors.New("stopped at a bad line")

// LineError is why one line was not produced.
type LineError struct {
	Line   int    // 1-based line number
	Reason string // one line of text
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Checker turns an input line into the record to send, or says why it
// cannot. It is safe for concurrent use.
type Checker struct {
	schema   *jsonschema.Schema
	format   Format
	schemaID int
}

// NewChecker compiles the cart-event JSON Schema. For FormatAvro, schemaID
// is the registry id of cart_event.avsc (see registry.Client.Register).
func NewChecker(format Format, schemaID int) (*Checker, error) {
	switch format {
	case FormatJSON:
	case FormatAvro:
		if schemaID < 0 {
			return nil, fmt.Errorf("producer: negative schema id %d", schemaID)
		}
	default:
		return nil, fmt.Errorf("producer: format %q: want json or avro", format)
	}
	sch, err := schemas.CompileJSONSchema(schemas.JSONCartEvent)
	if err != nil {
		return nil, err
	}
	return &Checker{schema: sch, format: format, schemaID: schemaID}, nil
}

// Record validates one line (without its line break) and returns the key
// (cart_id) and value to send, neither sharing memory with line. The error is the reason, as one line of
// text: the JSON Schema's complaints first, then the carts group's parser's
// (it is stricter in places: qty at most 1 000 000, ids not blank), then
// what the Avro form cannot carry.
func (c *Checker) Record(line []byte) (key, value []byte, err error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return nil, nil, fmt.Errorf("not JSON: %v", err)
	}
	if err := c.schema.Validate(doc); err != nil {
		return nil, nil, fmt.Errorf("cart-event schema: %s", flatten(err))
	}
	ev, err := carts.ParseEvent(line)
	if err != nil {
		return nil, nil, err
	}
	if c.format == FormatJSON {
		return []byte(ev.CartID), bytes.Clone(line), nil
	}
	body, err := schemas.CartEventAvro(line)
	if err != nil {
		return nil, nil, fmt.Errorf("avro: %v", err)
	}
	return []byte(ev.CartID), schemas.AppendConfluent(make([]byte, 0, schemas.ConfluentHeaderLen+len(body)), c.schemaID, body), nil
}

// flatten renders a JSON Schema validation error as one line: its leaf
// complaints with their locations, joined by "; ".
func flatten(err error) string {
	lines := strings.Split(err.Error(), "\n")
	var out []string
	for _, l := range lines[1:] {
		l = strings.TrimLeft(l, " -")
		if strings.HasSuffix(l, ": 'allOf' failed") || strings.HasSuffix(l, ": validation failed") {
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	return strings.Join(out, "; ")
}

// Options configure Run.
type Options struct {
	Topic   string
	OnError OnError // default Skip
	// Errors receives one line per bad input line ("line N: reason").
	// Default io.Discard.
	Errors io.Writer
}

// Summary is what a run did.
type Summary struct {
	Produced int           // records acknowledged by the cluster
	Skipped  int           // bad lines, reported and not sent
	Duration time.Duration // from the first read to the last acknowledgement
}

// String renders the summary line `cartstream produce` prints.
func (s Summary) String() string {
	return fmt.Sprintf("produced=%d skipped=%d duration_s=%.3f", s.Produced, s.Skipped, s.Duration.Seconds())
}

// Run reads lines from r, checks each with c and produces the good ones to
// opts.Topic with cl, then waits until every record is acknowledged. Blank
// lines are ignored; a trailing "\r" is dropped. cl should use
// kgo.StickyKeyPartitioner(nil) (murmur2, Kafka's default; franz-go's
// default partitioner agrees for keyed records) and require acks from all
// in-sync replicas (kgo's default).
//
// The summary is valid whatever the error. Errors: ErrStopped (wrapped with
// the line) under Stop; the first produce failure (the records after it
// may or may not have been written; the summary counts only acknowledged
// ones); a read error; ctx's.
func Run(ctx context.Context, cl *kgo.Client, c *Checker, r io.Reader, opts Options) (Summary, error) {
	if opts.Errors == nil {
		opts.Errors = io.Discard
	}
	if opts.OnError == "" {
		opts.OnError = Skip
	}
	if opts.OnError != Skip && opts.OnError != Stop {
		return Summary{}, fmt.Errorf("producer: on-error %q: want skip or stop", opts.OnError)
	}
	begin := time.Now()
	var (
		mu       sync.Mutex
		produced int
		firstErr error
	)
	done := func(_ *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		produced++
	}
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return firstErr
	}

	var sum Summary
	var runErr error
	lines := newLineReader(r)
	for n := 1; ; n++ {
		line, tooLong, err := lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			runErr = fmt.Errorf("producer: read line %d: %w", n, err)
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var key, value []byte
		if tooLong {
			err = fmt.Errorf("longer than %d bytes", MaxLineBytes)
		} else {
			key, value, err = c.Record(line)
		}
		if err != nil {
			sum.Skipped++
			le := &LineError{Line: n, Reason: strings.Join(strings.Fields(err.Error()), " ")}
			fmt.Fprintln(opts.Errors, le)
			if opts.OnError == Stop {
				runErr = fmt.Errorf("producer: %w: %w", ErrStopped, le)
				break
			}
			continue
		}
		if err := failed(); err != nil {
			break
		}
		cl.Produce(ctx, &kgo.Record{Topic: opts.Topic, Key: key, Value: value}, done)
	}
	flushErr := cl.Flush(ctx)
	sum.Duration = time.Since(begin)
	mu.Lock()
	sum.Produced = produced
	perr := firstErr
	mu.Unlock()
	switch {
	case perr != nil:
		return sum, fmt.Errorf("producer: produce to %s: %w", opts.Topic, perr)
	case runErr != nil:
		return sum, runErr
	case flushErr != nil:
		return sum, fmt.Errorf("producer: %w", flushErr)
	}
	return sum, ctx.Err()
}

// lineReader splits input into lines of at most MaxLineBytes, reading past
// longer ones so that the next line is still found.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without "\n" or "\r\n". tooLong reports a line
// over MaxLineBytes (its bytes are not returned). err is io.EOF after the
// last line.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(l.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		line := bytes.TrimSuffix(l.buf, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if tooLong || len(line) > MaxLineBytes {
			return nil, true, nil
		}
		return line, false, nil
	}
}

// Registrar registers a schema under a subject and returns its id;
// registry.Client is one.
type Registrar interface {
	Register(ctx context.Context, subject, schema string) (int, error)
}

// Subject is the registry subject of a topic's values under Confluent's
// default TopicNameStrategy: <topic>-value.
func Subject(topic string) string { return topic + "-value" }

// RegisterCartEvent registers schemas/avro/cart_event.avsc under
// Subject(topic) and returns its id for NewChecker. Registering is
// idempotent: a subject that holds the schema already answers its id.
func RegisterCartEvent(ctx context.Context, r Registrar, topic string) (int, error) {
	text, err := schemas.CartEventAvroSchema()
	if err != nil {
		return 0, err
	}
	id, err := r.Register(ctx, Subject(topic), text)
	if err != nil {
		return 0, fmt.Errorf("producer: %w", err)
	}
	return id, nil
}
