package topology

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func render(t *testing.T, topo *Topology, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := topo.Render(&b, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMermaidDrawsEveryPart checks the flowchart has a node for every
// group and topic, an edge for every input, lookup, output, table and loop,
// a subgraph per co-partitioned set and per cdc group, and only ids Mermaid
// accepts.
func TestMermaidDrawsEveryPart(t *testing.T) {
	topo := New(Config{Partitions: 6})
	out := render(t, topo, FormatMermaid)
	if !strings.HasPrefix(out, "flowchart LR\n") {
		t.Fatalf("not a flowchart:\n%s", out)
	}
	d := topo.draw()
	for _, g := range topo.Groups {
		gid := d.byName["g:"+g.Name]
		if !strings.Contains(out, gid+`("`+g.Name+`<br/>group `+g.ID+`")`) {
			t.Errorf("no node for group %s", g.Name)
		}
		id := func(topic string) string { return d.byName["t:"+topic] }
		want := []string{gid + " <-->|table| " + id(g.Table), gid + " <-->|loop| " + id(g.Loop)}
		for _, in := range g.Inputs {
			want = append(want, id(in)+" -->|input| "+gid)
		}
		for _, l := range g.Lookups {
			want = append(want, id(l)+" -.->|lookup| "+gid)
		}
		for _, o := range g.Outputs {
			want = append(want, gid+" -->|output| "+id(o))
		}
		for _, w := range want {
			if !strings.Contains(out, "  "+w+"\n") {
				t.Errorf("group %s: no edge %q", g.Name, w)
			}
		}
	}
	for _, tp := range topo.Topics {
		if !strings.Contains(out, `[("`+tp.Name+`<br/>`) {
			t.Errorf("no node for topic %s", tp.Name)
		}
	}
	for _, want := range []string{
		`subgraph set_carts["co-partitioned set carts: 6 partitions"]`,
		`subgraph set_inventory["co-partitioned set inventory: 6 partitions"]`,
		`subgraph set_g_cdc_products["cdc-products: partitions of shop.public.products"]`,
		`t_cart_events[("cart-events<br/>source, 6 partitions")]`,
		`t_shop_public_products[("shop.public.products<br/>source, any partition count")]`,
		`t_cartstream_cdc_products_table[("cartstream-cdc-products-table<br/>partitions of shop.public.products, compacted")]`,
		`x_storefront_clients --> t_cart_events`,
		`x_cartstream_produce --> t_cart_events`,
		`t_cartstream_offers --> x_storefront`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mermaid lacks %q", want)
		}
	}
	// Each node is declared once, and every id is plain.
	decl := regexp.MustCompile(`(?m)^\s+([A-Za-z0-9_]+)(\(|\[\(|>)"`)
	seen := map[string]bool{}
	for _, m := range decl.FindAllStringSubmatch(out, -1) {
		if seen[m[1]] {
			t.Errorf("node %s declared twice", m[1])
		}
		seen[m[1]] = true
	}
	if want := len(topo.Groups) + len(topo.Topics); len(seen) < want {
		t.Errorf("%d nodes declared, want at least %d", len(seen), want)
	}
	if strings.Count(out, "subgraph ") != strings.Count(out, "\n  end\n") {
		t.Errorf("unbalanced subgraphs")
	}
	if again := render(t, topo, FormatMermaid); again != out {
		t.Errorf("rendering is not deterministic")
	}
}

// TestDotIsValidGraphviz renders the graph with Graphviz's dot when it is
// installed, and checks the clusters and edge styles either way.
func TestDotIsValidGraphviz(t *testing.T) {
	topo := New(Config{})
	out := render(t, topo, FormatDot)
	for _, want := range []string{
		"digraph \"cartstream\" {\n", "subgraph cluster_set_carts {", `label="co-partitioned set carts: 8 partitions";`,
		`t_cartstream_products -> g_carts [label="lookup", style=dashed];`,
		`g_carts -> t_cartstream_carts_table [label="table", dir=both];`,
		`g_carts -> t_cartstream_offers [label="output"];`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dot lacks %q", want)
		}
	}
	if strings.Count(out, "{") != strings.Count(out, "}") {
		t.Errorf("unbalanced braces")
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("graphviz is not installed")
	}
	cmd := exec.CommandContext(context.Background(), dot, "-Tsvg")
	cmd.Stdin = strings.NewReader(out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	svg, err := cmd.Output()
	if err != nil || stderr.Len() > 0 || !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
}

func TestRenderRejectsUnknownFormat(t *testing.T) {
	if err := New(Config{}).Render(&bytes.Buffer{}, "png"); err == nil || !strings.Contains(err.Error(), "text, mermaid, dot") {
		t.Errorf("err = %v", err)
	}
}

func TestRewriteDocReplacesOnlyGeneratedBlocks(t *testing.T) {
	topo := New(Config{})
	doc := "# Title\n\nprose ``` stays\n\n" + DocBlockBegin(FormatMermaid) + "\n```mermaid\nstale\n```\n" + DocBlockEnd +
		"\n\nmiddle\n\n" + DocBlockBegin(FormatText) + "\n" + DocBlockEnd + "\ntail\n"
	out, err := topo.RewriteDoc([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nprose ``` stays\n\n" + DocBlockBegin(FormatMermaid) + "\n```mermaid\n" + render(t, topo, FormatMermaid) + "```\n" + DocBlockEnd +
		"\n\nmiddle\n\n" + DocBlockBegin(FormatText) + "\n```\n" + render(t, topo, FormatText) + "```\n" + DocBlockEnd + "\ntail\n"
	if string(out) != want {
		t.Errorf("rewritten doc:\n%s\nwant:\n%s", out, want)
	}
	again, err := topo.RewriteDoc(out)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("a second rewrite changed the doc (err %v)", err)
	}
	for _, bad := range []string{
		DocBlockBegin(FormatMermaid) + "\n```mermaid\n```\n",           // no end
		DocBlockBegin("svg") + "\n" + DocBlockEnd + "\n",               // unknown format
		"<!-- BEGIN GENERATED: cartstream topology --format dot -->\n", // malformed marker
	} {
		if _, err := topo.RewriteDoc([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestRedrivesTopicDeclared(t *testing.T) {
	topo := New(Config{})
	tp, ok := topo.Topic("cartstream.dlq-redrives")
	if !ok || !tp.Compacted || tp.Configs()["cleanup.policy"] != "compact" {
		t.Fatalf("redrives topic %+v", tp)
	}
}

// TestEnsureOnlyCreatesTheNamedTopic creates one topic on a cluster whose
// other topics disagree on partition counts: nothing else is created and
// no co-partitioning error is raised.
func TestEnsureOnlyCreatesTheNamedTopic(t *testing.T) {
	ctx := context.Background()
	_, adm := newAdmin(t)
	if _, err := adm.CreateTopic(ctx, 6, 1, nil, "cart-events"); err != nil {
		t.Fatal(err)
	}
	topo := New(Config{})
	res, err := topo.Ensure(ctx, adm, EnsureOptions{Only: []string{topo.Names.DLQRedrives}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 1 || res.Created[0] != topo.Names.DLQRedrives {
		t.Errorf("created %v", res.Created)
	}
	var names []string
	for _, tp := range topo.Topics {
		names = append(names, tp.Name)
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	var exist []string
	for name, d := range details {
		if d.Err == nil {
			exist = append(exist, name)
		}
	}
	if len(exist) != 2 {
		t.Errorf("topics now %v, want cart-events and the redrives topic", exist)
	}
	res, err = topo.Ensure(ctx, adm, EnsureOptions{Only: []string{topo.Names.DLQRedrives}})
	if err != nil || len(res.Created) != 0 || len(res.Existing) != 1 {
		t.Errorf("second ensure: %+v, %v", res, err)
	}
}
