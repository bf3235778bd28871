package bench

import (
	"errors"
	"testing"
)

func TestParseMetric(t *testing.T) {
	const text = `# HELP go_memstats_mallocs_total Total number of heap objects allocated.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.234567e+07
go_memstats_mallocs_total_other 5
cartstream_records_processed_total{group="carts",partition="0"} 42
go_memstats_frees_total 99
`
	for name, tc := range map[string]struct {
		metric string
		want   float64
		err    error
	}{
		"exponent":         {MallocsMetric, 12345670, nil},
		"plain":            {"go_memstats_frees_total", 99, nil},
		"prefix is not it": {"go_memstats_mallocs", 0, ErrNoMetric},
		"labelled only":    {"cartstream_records_processed_total", 0, ErrNoMetric},
		"absent":           {"nope", 0, ErrNoMetric},
	} {
		got, err := ParseMetric([]byte(text), tc.metric)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: ParseMetric(%s) = %v, %v; want %v, %v", name, tc.metric, got, err, tc.want, tc.err)
		}
	}
	if _, err := ParseMetric([]byte("x notanumber\n"), "x"); err == nil {
		t.Error("a value that is no number was accepted")
	}
}
