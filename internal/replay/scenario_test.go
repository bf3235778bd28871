package replay

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"2h", 2 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"PT2H", 2 * time.Hour},
		{"pt2h", 2 * time.Hour},
		{"PT90M", 90 * time.Minute},
		{"PT0.5S", 500 * time.Millisecond},
		{"PT1,5H", 90 * time.Minute},
		{"P1D", 24 * time.Hour},
		{"P1DT12H", 36 * time.Hour},
		{"P2W", 14 * 24 * time.Hour},
		{"P1DT1H1M1S", 25*time.Hour + time.Minute + time.Second},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "P1Y", "P1M", "P1YT2H", "2", "-2h", "0s", "PT-1H", "P1H", "T2H", "PT2H3D"} {
		if _, err := ParseDuration(bad); !errors.Is(err, ErrScenario) {
			t.Errorf("ParseDuration(%q) = %v, want ErrScenario", bad, err)
		}
	}
	if _, err := ParseDuration("P1M"); err == nil || !strings.Contains(err.Error(), "no fixed length") {
		t.Errorf("P1M: %v, want a word on months", err)
	}
}

func TestParseOffset(t *testing.T) {
	tests := []struct {
		in   string
		want Offset
	}{
		{"cart-events:3:120", Offset{"cart-events", 3, 120}},
		{"shop.public.products:0:0", Offset{"shop.public.products", 0, 0}},
		{" cart-events : 1 : 7 ", Offset{"cart-events", 1, 7}},
	}
	for _, tt := range tests {
		got, err := ParseOffset(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseOffset(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "cart-events", "cart-events:3", ":3:1", "cart-events:x:1", "cart-events:1:y", "cart-events:-1:0", "cart-events:1:-5"} {
		if _, err := ParseOffset(bad); !errors.Is(err, ErrScenario) {
			t.Errorf("ParseOffset(%q) = %v, want ErrScenario", bad, err)
		}
	}
}

func TestReadOffsetsCSV(t *testing.T) {
	in := "topic,partition,offset\n# a comment\n\ncart-events,0,10\ncart-events, 1, 20\ncartstream.reservation-results,0,3\n"
	got, err := ReadOffsetsCSV(strings.NewReader(in), "f.csv")
	want := []Offset{{"cart-events", 0, 10}, {"cart-events", 1, 20}, {"cartstream.reservation-results", 0, 3}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	bad := map[string]string{
		"":                                   "no offsets",
		"topic,partition,offset\n":           "no offsets",
		"cart-events,0\n":                    "f.csv:1: want topic,partition,offset",
		"cart-events,0,1\nx,zero,1\n":        "f.csv:2: partition",
		"cart-events,0,1\ncart-events,0,2\n": "given twice",
		"cart-events,0,abc\n":                "f.csv:1: offset",
	}
	for text, msg := range bad {
		if _, err := ReadOffsetsCSV(strings.NewReader(text), "f.csv"); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: err %v, want %q", text, err, msg)
		}
	}
}

func TestParseFlags(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "offsets.csv")
	if err := os.WriteFile(csvPath, []byte("cart-events,2,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   Flags
		want Scenario
	}{
		{"earliest", Flags{ToEarliest: true}, Scenario{Kind: ToEarliest}},
		{"offsets", Flags{ToOffset: []string{"cart-events:0:1", "cart-events:1:2"}}, Scenario{Kind: ToOffsets, Offsets: []Offset{{"cart-events", 0, 1}, {"cart-events", 1, 2}}}},
		{"datetime", Flags{ToDatetime: "2026-11-21T11:00:00+01:00"}, Scenario{Kind: ToDatetime, At: at}},
		{"go duration", Flags{ByDuration: "2h"}, Scenario{Kind: ByDuration, Duration: 2 * time.Hour}},
		{"iso duration", Flags{ByDuration: "PT2H"}, Scenario{Kind: ByDuration, Duration: 2 * time.Hour}},
		{"file", Flags{FromFile: csvPath}, Scenario{Kind: FromFile, Offsets: []Offset{{"cart-events", 2, 5}}, File: csvPath}},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	for name, f := range map[string]Flags{
		"none":         {},
		"two":          {ToEarliest: true, ByDuration: "2h"},
		"bad datetime": {ToDatetime: "yesterday"},
		"missing file": {FromFile: filepath.Join(t.TempDir(), "nope.csv")},
		"duplicate":    {ToOffset: []string{"a:0:1", "a:0:2"}},
	} {
		if _, err := ParseFlags(f); !errors.Is(err, ErrScenario) {
			t.Errorf("%s: err %v, want ErrScenario", name, err)
		}
	}
	if s := (Scenario{Kind: ByDuration, Duration: time.Hour}).Resolve(at); !s.At.Equal(at.Add(-time.Hour)) {
		t.Errorf("Resolve: %v", s.At)
	}
}
