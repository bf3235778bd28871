package docscheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const root = "../.."

// cartstreamBin is the binary under test: $CARTSTREAM_BIN (make
// test-e2e sets it) or one built by TestMain.
var cartstreamBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	cartstreamBin = os.Getenv("CARTSTREAM_BIN")
	if cartstreamBin == "" {
		dir, err := os.MkdirTemp("", "docscheck-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		cartstreamBin = filepath.Join(dir, "cartstream")
		build := exec.Command("go", "build", "-o", cartstreamBin, "./cmd/cartstream")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build cartstream: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// fence is one fenced code block: its info string's words and its text.
type fence struct {
	info    []string // "json", "offer"
	text    string
	heading string // the closest ### (or ##) heading above it
	line    int
}

// fences returns the fenced blocks of a Markdown file.
func fences(t *testing.T, file string) []fence {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []fence
		cur     *fence
		heading string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &fence{info: strings.Fields(strings.TrimPrefix(line, "```")), heading: heading, line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
	}
	if cur != nil {
		t.Fatalf("%s: unclosed code block from line %d", file, cur.line)
	}
	return out
}

func decode(t *testing.T, what, text string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestPromotionExamples runs each worked example of docs/promotions.md
// (blocks tagged products, promotions, cart and offer under one heading)
// through `cartstream evaluate --at 2026-11-21T10:00:00Z` and compares
// every field the offer block shows with the printed offer. The examples
// must cover every effect type and an exclusive.
func TestPromotionExamples(t *testing.T) {
	type example struct {
		products, promotions, cart, offer string
	}
	examples := map[string]*example{}
	var order []string
	for _, f := range fences(t, "docs/promotions.md") {
		if len(f.info) != 2 || f.info[0] != "json" {
			continue
		}
		ex, ok := examples[f.heading]
		if !ok {
			ex = &example{}
			examples[f.heading] = ex
			order = append(order, f.heading)
		}
		switch f.info[1] {
		case "products":
			ex.products = f.text
		case "promotions":
			ex.promotions = f.text
		case "cart":
			ex.cart = f.text
		case "offer":
			ex.offer = f.text
		default:
			t.Errorf("%q: unknown block %q", f.heading, f.info[1])
		}
	}
	effects := map[string]bool{}
	exclusive := false
	for _, name := range order {
		ex := examples[name]
		t.Run(name, func(t *testing.T) {
			if ex.products == "" || ex.promotions == "" || ex.cart == "" || ex.offer == "" {
				t.Fatalf("want products, promotions, cart and offer blocks; have %+v", *ex)
			}
			dir := t.TempDir()
			files := map[string]string{"products.jsonl": ex.products, "promotions.jsonl": ex.promotions, "cart.json": ex.cart}
			for f, content := range files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, l := range strings.Split(strings.TrimSpace(ex.promotions), "\n") {
				p := decode(t, "promotion", l).(map[string]any)
				eff := p["effect"].(map[string]any)
				typ := fmt.Sprint(eff["type"])
				if typ == "amount_off" {
					typ += " per " + fmt.Sprint(eff["per"])
				}
				effects[typ] = true
				exclusive = exclusive || p["stacking"] == "exclusive"
			}
			cmd := exec.Command(cartstreamBin, "evaluate", "--products", filepath.Join(dir, "products.jsonl"),
				"--promotions", filepath.Join(dir, "promotions.jsonl"), "--cart", filepath.Join(dir, "cart.json"),
				"--at", "2026-11-21T10:00:00Z")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("cartstream evaluate: %v\n%s", err, stderr.String())
			}
			got := decode(t, "the printed offer", string(out)).(map[string]any)
			want := decode(t, "the offer block", ex.offer).(map[string]any)
			for k, w := range want {
				g, ok := got[k]
				if !ok {
					t.Errorf("the offer has no field %q", k)
					continue
				}
				if !reflect.DeepEqual(g, w) {
					gj, _ := json.Marshal(g)
					wj, _ := json.Marshal(w)
					t.Errorf("%s:\n got %s\nwant %s", k, gj, wj)
				}
			}
			for _, k := range []string{"lines", "discount_total", "total", "applied"} {
				if _, ok := want[k]; !ok {
					t.Errorf("the offer block leaves out %q", k)
				}
			}
		})
	}
	for _, e := range []string{"percent_off", "amount_off per cart", "amount_off per unit", "fixed_price", "buy_x_get_y", "tiered_percent", "free_shipping"} {
		if !effects[e] {
			t.Errorf("no worked example of %s", e)
		}
	}
	if !exclusive {
		t.Error("no worked example of an exclusive promotion")
	}
}

// invocation is one `cartstream …` command line found in a doc.
type invocation struct {
	file, line string
	words      []string
}

// invocations finds the cartstream command lines of a Markdown file's sh
// code blocks (continuation lines joined, comments dropped).
func invocations(t *testing.T, file string) []invocation {
	t.Helper()
	var out []invocation
	for _, f := range fences(t, file) {
		if len(f.info) == 0 || f.info[0] != "sh" {
			continue
		}
		text := strings.ReplaceAll(f.text, "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			// Every command of a pipeline or list.
			for _, part := range regexp.MustCompile(`\||&&|;|&|\$\(`).Split(line, -1) {
				words := strings.Fields(part)
				for len(words) > 0 && (strings.Contains(words[0], "=") || words[0] == "exec") {
					words = words[1:] // VAR=value prefixes
				}
				if len(words) > 1 && (words[0] == "cartstream" || strings.HasSuffix(words[0], "/cartstream")) {
					out = append(out, invocation{file: file, line: strings.TrimSpace(line), words: words[1:]})
				}
			}
		}
	}
	return out
}

// documentedFlags reads docs/configuration.md, generated from the CLI (and
// checked against it by cmd/cartstream): command path → its flags.
func documentedFlags(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs/configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	row := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\|")
	cmd := ""
	for _, line := range strings.Split(string(data), "\n") {
		if c, ok := strings.CutPrefix(line, "## cartstream "); ok {
			cmd = c
			out[cmd] = nil
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && cmd != "" {
			out[cmd] = append(out[cmd], m[1])
		}
	}
	return out
}

// TestDocumentedCommandLines: every `cartstream` command line in the sh
// blocks of the README and the operator docs names a command that exists
// and only flags that command has (per docs/configuration.md). Commands
// without flags of their own (cartstream topology) only need to exist.
func TestDocumentedCommandLines(t *testing.T) {
	flags := documentedFlags(t)
	// Commands with no flags but help are not in configuration.md.
	known := map[string]bool{"topology": true, "dlq": true, "debezium": true, "demo": true}
	for c := range flags {
		known[c] = true
	}
	checked := 0
	for _, file := range []string{"README.md", "docs/operations.md", "docs/debezium.md", "docs/promotions.md"} {
		for _, inv := range invocations(t, file) {
			// The longest known command path.
			cmd, n := "", 0
			for i := range inv.words {
				p := strings.Join(inv.words[:i+1], " ")
				if strings.HasPrefix(inv.words[i], "-") {
					break
				}
				if known[p] {
					cmd, n = p, i+1
				}
			}
			if cmd == "" {
				t.Errorf("%s: %q: no such cartstream command", file, inv.line)
				continue
			}
			checked++
			for _, w := range inv.words[n:] {
				if !strings.HasPrefix(w, "--") {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
				if name == "help" || name == "" {
					continue
				}
				if !slices.Contains(flags[cmd], name) {
					t.Errorf("%s: %q: cartstream %s has no --%s", file, inv.line, cmd, name)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d cartstream command lines found: the scan is broken", checked)
	}
}
