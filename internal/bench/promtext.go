package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MallocsMetric is the Go collector's count of heap objects allocated.
const MallocsMetric = "go_memstats_mallocs_total"

// ErrNoMetric is wrapped when a scrape lacks the metric asked for.
var ErrNoMetric = errors.New("bench: metric not found")

// ParseMetric returns the value of an unlabelled sample of the named
// metric in the Prometheus text exposition format.
func ParseMetric(text []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, name)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("bench: metric %s: %q: %w", name, line, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrNoMetric, name)
}

// scrapeMetric fetches http://<addr>/metrics and returns the named metric.
func scrapeMetric(ctx context.Context, hc *http.Client, addr, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("bench: metrics request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("bench: scrape %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bench: scrape %s: status %d", addr, resp.StatusCode)
	}
	return ParseMetric(body, name)
}
