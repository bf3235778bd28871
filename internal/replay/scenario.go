package replay

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is how a scenario chooses the new offsets.
type Kind int

// The scenarios of DESIGN §8, one per flag.
const (
	ToEarliest Kind = iota + 1 // --to-earliest: each partition's log start
	ToOffsets                  // --to-offset topic:partition:offset, repeatable
	ToDatetime                 // --to-datetime: the first record at or after a time
	ByDuration                 // --by-duration: as ToDatetime, that long before now
	FromFile                   // --from-file: ToOffsets read from a CSV file
)

// Offset is one partition's offset.
type Offset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

func (o Offset) String() string { return fmt.Sprintf("%s:%d:%d", o.Topic, o.Partition, o.Offset) }

// Scenario is one parsed choice of where to reset to.
type Scenario struct {
	Kind     Kind
	Offsets  []Offset      // ToOffsets, FromFile
	At       time.Time     // ToDatetime; ByDuration once resolved
	Duration time.Duration // ByDuration
	File     string        // FromFile
}

// ErrScenario is wrapped by every error about the scenario flags.
var ErrScenario = errors.New("replay: scenario")

func scenarioErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrScenario, fmt.Sprintf(format, args...))
}

// Flags are the scenario flags as given.
type Flags struct {
	ToEarliest bool
	ToOffset   []string
	ToDatetime string
	ByDuration string
	FromFile   string
}

// ParseFlags checks that exactly one scenario is given and parses it.
func ParseFlags(f Flags) (Scenario, error) {
	given := 0
	for _, set := range []bool{f.ToEarliest, len(f.ToOffset) > 0, f.ToDatetime != "", f.ByDuration != "", f.FromFile != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return Scenario{}, scenarioErr("give exactly one of --to-earliest, --to-offset, --to-datetime, --by-duration, --from-file (got %d)", given)
	}
	switch {
	case f.ToEarliest:
		return Scenario{Kind: ToEarliest}, nil
	case len(f.ToOffset) > 0:
		s := Scenario{Kind: ToOffsets}
		for _, text := range f.ToOffset {
			o, err := ParseOffset(text)
			if err != nil {
				return Scenario{}, err
			}
			s.Offsets = append(s.Offsets, o)
		}
		return s, checkDuplicates(s.Offsets, "--to-offset")
	case f.ToDatetime != "":
		t, err := time.Parse(time.RFC3339Nano, f.ToDatetime)
		if err != nil {
			return Scenario{}, scenarioErr("--to-datetime %q: want RFC 3339, e.g. 2026-11-21T10:00:00Z", f.ToDatetime)
		}
		return Scenario{Kind: ToDatetime, At: t.UTC()}, nil
	case f.ByDuration != "":
		d, err := ParseDuration(f.ByDuration)
		if err != nil {
			return Scenario{}, err
		}
		return Scenario{Kind: ByDuration, Duration: d}, nil
	default:
		file, err := os.Open(f.FromFile)
		if err != nil {
			return Scenario{}, scenarioErr("--from-file: %v", err)
		}
		defer file.Close()
		offs, err := ReadOffsetsCSV(file, f.FromFile)
		if err != nil {
			return Scenario{}, err
		}
		return Scenario{Kind: FromFile, Offsets: offs, File: f.FromFile}, nil
	}
}

// Resolve fixes a ByDuration scenario's time against now (the operator's
// clock, as Kafka's reset tool does); other scenarios are returned as they
// are.
func (s Scenario) Resolve(now time.Time) Scenario {
	if s.Kind == ByDuration {
		s.At = now.Add(-s.Duration).UTC()
	}
	return s
}

// String renders the scenario as its flag.
func (s Scenario) String() string {
	switch s.Kind {
	case ToEarliest:
		return "--to-earliest"
	case ToOffsets:
		parts := make([]string, len(s.Offsets))
		for i, o := range s.Offsets {
			parts[i] = "--to-offset " + o.String()
		}
		return strings.Join(parts, " ")
	case ToDatetime:
		return "--to-datetime " + s.At.Format(time.RFC3339Nano)
	case ByDuration:
		return "--by-duration " + s.Duration.String()
	case FromFile:
		return "--from-file " + s.File
	}
	return "(no scenario)"
}

// ParseOffset parses topic:partition:offset. Kafka topic names cannot hold
// a colon, so the last two fields are split off from the right.
func ParseOffset(text string) (Offset, error) {
	i := strings.LastIndexByte(text, ':')
	if i < 0 {
		return Offset{}, scenarioErr("--to-offset %q: want topic:partition:offset", text)
	}
	j := strings.LastIndexByte(text[:i], ':')
	if j <= 0 {
		return Offset{}, scenarioErr("--to-offset %q: want topic:partition:offset", text)
	}
	return offsetOf(text[:j], text[j+1:i], text[i+1:], "--to-offset "+strconv.Quote(text))
}

func offsetOf(topic, partition, offset, where string) (Offset, error) {
	topic = strings.TrimSpace(topic)
	if topic == "" {
		return Offset{}, scenarioErr("%s: empty topic", where)
	}
	p, err := strconv.ParseInt(strings.TrimSpace(partition), 10, 32)
	if err != nil || p < 0 {
		return Offset{}, scenarioErr("%s: partition %q is not a partition number", where, partition)
	}
	o, err := strconv.ParseInt(strings.TrimSpace(offset), 10, 64)
	if err != nil || o < 0 {
		return Offset{}, scenarioErr("%s: offset %q is not an offset (0 or more)", where, offset)
	}
	return Offset{Topic: topic, Partition: int32(p), Offset: o}, nil
}

// ReadOffsetsCSV reads topic,partition,offset lines, as Kafka's reset tool
// writes and reads them. Blank lines and lines starting with # are skipped,
// and so is a first line topic,partition,offset (a header). Errors name the
// file and line.
func ReadOffsetsCSV(r io.Reader, name string) ([]Offset, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []Offset
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, scenarioErr("%s: %v", name, err)
		}
		if len(rec) != 3 {
			return nil, scenarioErr("%s:%d: want topic,partition,offset, got %d fields", name, line, len(rec))
		}
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "topic") {
			continue
		}
		o, err := offsetOf(rec[0], rec[1], rec[2], fmt.Sprintf("%s:%d", name, line))
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, scenarioErr("%s: no offsets", name)
	}
	return out, checkDuplicates(out, name)
}

func checkDuplicates(offs []Offset, where string) error {
	seen := map[[2]any]bool{}
	for _, o := range offs {
		k := [2]any{o.Topic, o.Partition}
		if seen[k] {
			return scenarioErr("%s: %s partition %d given twice", where, o.Topic, o.Partition)
		}
		seen[k] = true
	}
	return nil
}

// isoDuration is ISO-8601's duration with days, weeks and time parts;
// years and months are refused (their length is not fixed).
var isoDuration = regexp.MustCompile(`^P(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

// ParseDuration parses a Go duration (2h, 90m, 1h30m) or an ISO-8601
// duration (PT2H, P1D, P1DT12H, PT0.5S, P2W). ISO years and months are
// refused: their length depends on the calendar. The duration must be
// positive.
func ParseDuration(text string) (time.Duration, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, scenarioErr("--by-duration: empty")
	}
	var d time.Duration
	if u := strings.ToUpper(s); strings.HasPrefix(u, "P") {
		m := isoDuration.FindStringSubmatch(u)
		if m == nil || u == "P" || strings.HasSuffix(u, "T") {
			if strings.ContainsAny(strings.SplitN(u, "T", 2)[0], "YM") {
				return 0, scenarioErr("--by-duration %q: ISO-8601 years and months have no fixed length; use days (P30D)", text)
			}
			return 0, scenarioErr("--by-duration %q: want a Go duration (2h) or ISO-8601 (PT2H, P1DT12H)", text)
		}
		units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
		for i, u := range units {
			if m[i+1] == "" {
				continue
			}
			f, err := strconv.ParseFloat(strings.ReplaceAll(m[i+1], ",", "."), 64)
			if err != nil {
				return 0, scenarioErr("--by-duration %q: %v", text, err)
			}
			d += time.Duration(f * float64(u))
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, scenarioErr("--by-duration %q: want a Go duration (2h) or ISO-8601 (PT2H, P1DT12H)", text)
		}
	}
	if d <= 0 {
		return 0, scenarioErr("--by-duration %q: must be positive", text)
	}
	return d, nil
}
