package deploycheck

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/instance"
	"cartstream/internal/partition"
)

const dashboardFile = "deploy/grafana/dashboards/cartstream.json"

type dashPanel struct {
	title         string
	datasourceUID string
	exprs         []string
	legends       []string
}

type grafanaDashboard struct {
	panels    []dashPanel
	variables []string // template variable queries
}

// dashboard loads the Grafana dashboard: its query panels (rows flattened)
// and its template variable queries.
func dashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	type target struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	}
	type panel struct {
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Query struct {
					Query string `json:"query"`
				} `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(readRepoFile(t, dashboardFile), &d); err != nil {
		t.Fatal(err)
	}
	var out grafanaDashboard
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			dp := dashPanel{title: p.Title, datasourceUID: p.Datasource.UID}
			for _, tg := range p.Targets {
				dp.exprs = append(dp.exprs, tg.Expr)
				dp.legends = append(dp.legends, tg.LegendFormat)
			}
			out.panels = append(out.panels, dp)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		out.variables = append(out.variables, v.Query.Query)
	}
	if len(out.panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	return out
}

var (
	promMetric  = regexp.MustCompile(`\b((?:cartstream|process|go)_[a-z0-9_]+)\b`)
	promMatcher = regexp.MustCompile(`\b((?:cartstream|process|go)_[a-z0-9_]+)\{([^}]*)\}`)
	promLabel   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	promBy      = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	promValues  = regexp.MustCompile(`label_values\(\s*[a-z_]+\s*,\s*([a-z_]+)\s*\)`)
	legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

// family is one metric as scraped: its label names over all its series.
type family struct {
	labels map[string]bool
}

// scrape reads /metrics and returns every series name (histograms give
// their _bucket, _sum and _count series) with its label names.
func scrape(addr string) (map[string]family, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	out := map[string]family{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		f, ok := out[name]
		if !ok {
			f = family{labels: map[string]bool{}}
			out[name] = f
		}
		if strings.HasPrefix(rest, "{") {
			for _, m := range regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`).FindAllStringSubmatch(rest[:strings.LastIndex(rest, "}")], -1) {
				f.labels[m[1]] = true
			}
		}
	}
	return out, sc.Err()
}

// dashboardMetrics lists the metric names the dashboard queries.
func dashboardMetrics(d grafanaDashboard) []string {
	set := map[string]bool{}
	for _, p := range d.panels {
		for _, e := range p.exprs {
			for _, m := range promMetric.FindAllString(e, -1) {
				set[m] = true
			}
		}
	}
	for _, v := range d.variables {
		for _, m := range promMetric.FindAllString(v, -1) {
			set[m] = true
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// TestDashboardMetricsExist runs a real instance (embedded broker, demo
// catalog) in this process, drives traffic that touches every labelled
// metric the dashboard uses (cart events, a checkout, a poison record, a
// mispartitioned record, a skewed clock, a CDC record whose schema registry
// is unreachable), scrapes /metrics, and checks every metric the dashboard
// queries exists, with every label its queries match, group by or show in
// a legend (Prometheus adds instance and job).
func TestDashboardMetricsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an instance")
	}
	d := dashboard(t)
	want := dashboardMetrics(d)
	httpAddr, kafkaAddr := freeAddr(t), freeAddr(t)
	// Nothing listens on the registry's address until the end: every lookup
	// fails as unavailable, and the partition retries.
	registryAddr := freeAddr(t)
	registry := "http://" + registryAddr
	cfg, _, err := parseRun(t, []string{"--data-dir", t.TempDir(), "--kafka-listen", kafkaAddr, "--http-listen", httpAddr,
		"--partitions", "2", "--tick-interval", "200ms", "--registry", registry}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := instance.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("instance: %v", err)
		}
	}()
	waitReady(t, httpAddr, done, 90*time.Second)

	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cart := func(key string, p int32, v string) *kgo.Record {
		if p < 0 {
			p = partition.For([]byte(key), 2)
		}
		return &kgo.Record{Topic: "cart-events", Key: []byte(key), Value: []byte(v), Partition: p}
	}
	c3 := partition.For([]byte("c-3"), 2)
	recs := []*kgo.Record{
		cart("c-1", -1, `{"event_id":"e-1","cart_id":"c-1","type":"item_added","sku":"SKU-00001","qty":1,"currency":"USD"}`),
		cart("c-1", -1, `{"event_id":"e-2","cart_id":"c-1","type":"checkout_started","checkout_id":"co-1"}`),
		cart("c-2", -1, `not json`),
		cart("c-3", 1-c3, `{"event_id":"e-3","cart_id":"c-3","type":"item_added","sku":"SKU-00002","qty":1,"currency":"USD"}`),
		cart("c-4", -1, `{"event_id":"e-4","cart_id":"c-4","type":"item_added","sku":"SKU-00003","qty":1,"currency":"USD","ts":"2001-01-01T00:00:00Z"}`),
		// Confluent-framed Avro (magic 0, schema id 7): cdc-products asks
		// the unreachable registry and retries.
		{Topic: "shop.public.products", Key: []byte(`{"sku":"SKU-X"}`), Value: []byte{0, 0, 0, 0, 7, 2, 'x'}, Partition: 0},
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var got map[string]family
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err = scrape(httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for _, m := range want {
			if _, ok := got[m]; !ok {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics of a running instance lacks %v, which the dashboard queries", missing)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The registry comes back and does not know the schema: the retrying
	// partition moves on, dead-lettering the record. (It also lets the
	// instance stop in time: goka cancels a callback's context only after
	// the consumer session ends, which waits for that callback, so an
	// instance still retrying needs all of --shutdown-timeout.)
	ln, err := net.Listen("tcp", registryAddr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error_code":40403,"message":"Schema not found"}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	for !strings.Contains(scrapeText(t, httpAddr), `cartstream_dead_letters_total{class="decode",group="cdc-products"} 1`) {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("cdc-products did not dead-letter the record once the registry answered")
		}
		time.Sleep(200 * time.Millisecond)
	}

	promJob := str(get(loadYAML(t, "deploy/prometheus/prometheus.yml")[0], "scrape_configs", "0", "job_name"))
	targetLabels := map[string]bool{"instance": true, "job": true}
	for _, p := range d.panels {
		for i, e := range p.exprs {
			allowed := map[string]bool{}
			for k := range targetLabels {
				allowed[k] = true
			}
			for _, m := range promMetric.FindAllString(e, -1) {
				for l := range got[m].labels {
					allowed[l] = true
				}
			}
			var used []string
			for _, m := range promMatcher.FindAllStringSubmatch(e, -1) {
				for _, l := range promLabel.FindAllStringSubmatch(m[2], -1) {
					used = append(used, l[1])
				}
				if strings.Contains(m[2], `job="`) && !strings.Contains(m[2], `job="`+promJob+`"`) {
					t.Errorf("panel %q: %s selects another job than Prometheus's %q", p.title, m[0], promJob)
				}
			}
			for _, m := range promBy.FindAllStringSubmatch(e, -1) {
				for _, l := range strings.Split(m[1], ",") {
					used = append(used, strings.TrimSpace(l))
				}
			}
			for _, m := range legendLabel.FindAllStringSubmatch(p.legends[i], -1) {
				used = append(used, m[1])
			}
			for _, l := range used {
				if !allowed[l] {
					t.Errorf("panel %q: label %q is on none of the metrics of %s", p.title, l, e)
				}
			}
		}
	}
	for _, v := range d.variables {
		for _, m := range promValues.FindAllStringSubmatch(v, -1) {
			if !targetLabels[m[1]] {
				t.Errorf("template variable %q: label %s", v, m[1])
			}
		}
	}
	// Everything docs/operations.md documents is what the dashboard can use.
	ops := string(readRepoFile(t, "docs/operations.md"))
	for _, m := range want {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
		if strings.HasPrefix(base, "cartstream_") && !strings.Contains(ops, "`"+base+"`") {
			t.Errorf("%s is not in docs/operations.md's metrics table", base)
		}
	}
}

func scrapeText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(t *testing.T, addr string, done <-chan error, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("instance stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance not ready within %s", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDashboardQueriesAreDistinct: a panel per question, no copy-paste
// leftovers (two panels with the same title or the same first query).
func TestDashboardQueriesAreDistinct(t *testing.T) {
	var titles, first []string
	for _, p := range dashboard(t).panels {
		if slices.Contains(titles, p.title) {
			t.Errorf("two panels titled %q", p.title)
		}
		titles = append(titles, p.title)
		if len(p.exprs) == 0 {
			t.Errorf("panel %q has no query", p.title)
			continue
		}
		if slices.Contains(first, p.exprs[0]) {
			t.Errorf("panel %q repeats the query %s", p.title, p.exprs[0])
		}
		first = append(first, p.exprs[0])
	}
}
