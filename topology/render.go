package topology

import (
	"fmt"
	"io"
	"strings"
)

// Formats of Render.
const (
	FormatText    = "text"    // Describe's printout
	FormatMermaid = "mermaid" // a Mermaid flowchart (GitHub renders it in Markdown)
	FormatDot     = "dot"     // Graphviz: dot -Tsvg
)

// Formats lists the formats Render knows, the default first.
func Formats() []string { return []string{FormatText, FormatMermaid, FormatDot} }

// Render writes the graph in the named format.
func (t *Topology) Render(w io.Writer, format string) error {
	switch format {
	case FormatText, "":
		return t.Describe(w)
	case FormatMermaid:
		return t.Mermaid(w)
	case FormatDot:
		return t.Dot(w)
	}
	return fmt.Errorf("topology: format %q: want %s", format, strings.Join(Formats(), ", "))
}

// The drawing of the graph, shared by the Mermaid and Graphviz renderers:
// groups, topics and the outside systems that write or read topics are
// nodes; a group's inputs, lookups, outputs, table and loop are edges; each
// co-partitioned set (and each cdc group with its own source, table and
// loop) is a cluster labelled with its partition count.

type nodeKind int

const (
	groupNode nodeKind = iota
	topicNode
	actorNode // a system outside cartstream's groups: Debezium, storefronts, operators
)

type node struct {
	id    string // unique, [A-Za-z0-9_]
	kind  nodeKind
	lines []string // label, one entry a line
}

type edgeKind int

const (
	inputEdge edgeKind = iota
	lookupEdge
	outputEdge
	tableEdge
	loopEdge
	writesEdge // an outside writer to a topic
	readsEdge  // a topic to an outside reader
)

// label is the edge's label; writes and reads have none.
func (k edgeKind) label() string {
	return [...]string{"input", "lookup", "output", "table", "loop", "", ""}[k]
}

type edge struct {
	from, to string // node ids
	kind     edgeKind
}

type cluster struct {
	id    string
	label string
	nodes []string // node ids
}

type drawing struct {
	nodes    []node // in declaration order: groups, then topics, then actors
	edges    []edge
	clusters []cluster
	byName   map[string]string // group, topic or actor name → node id
	used     map[string]bool
}

// nodeID derives a Mermaid- and Graphviz-safe id from a name.
func (d *drawing) nodeID(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range name {
		if r < 128 && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	id := b.String()
	for i := 2; d.used[id]; i++ {
		id = fmt.Sprintf("%s_%d", b.String(), i)
	}
	d.used[id] = true
	return id
}

func (d *drawing) add(kind nodeKind, key, prefix, name string, lines ...string) string {
	if id, ok := d.byName[key]; ok {
		return id
	}
	id := d.nodeID(prefix, name)
	d.byName[key] = id
	d.nodes = append(d.nodes, node{id: id, kind: kind, lines: append([]string{name}, lines...)})
	return id
}

// draw lays the graph out as nodes, edges and clusters.
func (t *Topology) draw() *drawing {
	d := &drawing{byName: map[string]string{}, used: map[string]bool{}}
	groups := map[string]bool{}
	for _, g := range t.Groups {
		groups[g.Name] = true
		d.add(groupNode, "g:"+g.Name, "g_", g.Name, "group "+g.ID)
	}
	for _, tp := range t.Topics {
		d.add(topicNode, "t:"+tp.Name, "t_", tp.Name, t.topicNote(tp))
	}
	// Outside writers and readers. Entries naming a group ("carts",
	// "carts (lookup)", "cdc-products (recovery)") and "every group" are
	// drawn as the groups' own edges.
	outside := func(who string) bool {
		first, _, _ := strings.Cut(who, " ")
		return !groups[first] && who != "every group"
	}
	for _, tp := range t.Topics {
		topic := d.byName["t:"+tp.Name]
		for _, who := range tp.WrittenBy {
			if outside(who) {
				d.edges = append(d.edges, edge{d.add(actorNode, "a:"+who, "x_", who), topic, writesEdge})
			}
		}
		for _, who := range tp.ReadBy {
			if outside(who) {
				d.edges = append(d.edges, edge{topic, d.add(actorNode, "a:"+who, "x_", who), readsEdge})
			}
		}
	}
	for _, g := range t.Groups {
		gid := d.byName["g:"+g.Name]
		for _, in := range g.Inputs {
			d.edges = append(d.edges, edge{d.byName["t:"+in], gid, inputEdge})
		}
		for _, l := range g.Lookups {
			d.edges = append(d.edges, edge{d.byName["t:"+l], gid, lookupEdge})
		}
		d.edges = append(d.edges, edge{gid, d.byName["t:"+g.Table], tableEdge}, edge{gid, d.byName["t:"+g.Loop], loopEdge})
		for _, o := range g.Outputs {
			d.edges = append(d.edges, edge{gid, d.byName["t:"+o], outputEdge})
		}
	}
	// Clusters: each co-partitioned set with its group, then each cdc
	// group with the topics it is co-partitioned with.
	sets := t.CoPartitionSets()
	for _, g := range t.Groups {
		if g.CoPartitionSet == "" {
			continue
		}
		c := cluster{id: "set_" + g.CoPartitionSet, label: fmt.Sprintf("co-partitioned set %s: %d partitions", g.CoPartitionSet, t.Partitions)}
		c.nodes = append(c.nodes, d.byName["g:"+g.Name])
		for _, name := range sets[g.CoPartitionSet] {
			c.nodes = append(c.nodes, d.byName["t:"+name])
		}
		d.clusters = append(d.clusters, c)
	}
	for _, g := range t.Groups {
		if g.CoPartitionSet != "" || len(g.Inputs) != 1 {
			continue
		}
		c := cluster{id: "set_" + d.byName["g:"+g.Name], label: fmt.Sprintf("%s: partitions of %s", g.Name, g.Inputs[0])}
		c.nodes = []string{d.byName["g:"+g.Name], d.byName["t:"+g.Inputs[0]], d.byName["t:"+g.Table], d.byName["t:"+g.Loop]}
		d.clusters = append(d.clusters, c)
	}
	return d
}

// topicNote is the second line of a topic's label: its partition count
// and what else matters for its use.
func (t *Topology) topicNote(tp Topic) string {
	var notes []string
	switch src := t.sourceOf(tp.Name); {
	case src != "":
		notes = append(notes, "partitions of "+src)
	case tp.Source && tp.CoPartitionSet == "":
		// A cdc source has the count its writer chose; its group
		// follows it.
		notes = append(notes, "source, any partition count")
	case tp.Source:
		notes = append(notes, fmt.Sprintf("source, %d partitions", t.Partitions))
	default:
		notes = append(notes, fmt.Sprintf("%d partitions", t.Partitions))
	}
	if tp.Compacted {
		notes = append(notes, "compacted")
	}
	return strings.Join(notes, ", ")
}

// inCluster returns the set of node ids drawn inside a cluster.
func (d *drawing) inCluster() map[string]bool {
	in := map[string]bool{}
	for _, c := range d.clusters {
		for _, id := range c.nodes {
			in[id] = true
		}
	}
	return in
}

// Mermaid writes the graph as a Mermaid flowchart, left to right: groups
// as rounded boxes, topics as cylinders, outside systems as flags; each
// co-partitioned set, and each cdc group with its source, table and loop,
// as a subgraph labelled with its partition count. Edges are labelled
// input, lookup (dotted), output, table and loop (both ways: the group
// writes its changelog and restores from it; the loop is read and
// written).
func (t *Topology) Mermaid(w io.Writer) error {
	d := t.draw()
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	shape := func(n node) string {
		label := strings.ReplaceAll(strings.Join(n.lines, "<br/>"), `"`, "#quot;")
		switch n.kind {
		case groupNode:
			return n.id + `("` + label + `")`
		case topicNode:
			return n.id + `[("` + label + `")]`
		default:
			return n.id + `>"` + label + `"]`
		}
	}
	byID := map[string]node{}
	for _, n := range d.nodes {
		byID[n.id] = n
	}
	for _, c := range d.clusters {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", c.id, c.label)
		for _, id := range c.nodes {
			fmt.Fprintf(&b, "    %s\n", shape(byID[id]))
		}
		b.WriteString("  end\n")
	}
	in := d.inCluster()
	for _, n := range d.nodes {
		if !in[n.id] {
			fmt.Fprintf(&b, "  %s\n", shape(n))
		}
	}
	for _, e := range d.edges {
		switch e.kind {
		case lookupEdge:
			fmt.Fprintf(&b, "  %s -.->|%s| %s\n", e.from, e.kind.label(), e.to)
		case tableEdge, loopEdge:
			fmt.Fprintf(&b, "  %s <-->|%s| %s\n", e.from, e.kind.label(), e.to)
		case writesEdge, readsEdge:
			fmt.Fprintf(&b, "  %s --> %s\n", e.from, e.to)
		default:
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", e.from, e.kind.label(), e.to)
		}
	}
	b.WriteString("  classDef group fill:#dbeafe,stroke:#1e40af\n")
	b.WriteString("  classDef topic fill:#f3f4f6,stroke:#4b5563\n")
	b.WriteString("  classDef actor fill:#fef3c7,stroke:#92400e\n")
	for kind, class := range []string{"group", "topic", "actor"} {
		var ids []string
		for _, n := range d.nodes {
			if n.kind == nodeKind(kind) {
				ids = append(ids, n.id)
			}
		}
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), class)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("topology: mermaid: %w", err)
	}
	return nil
}

// Dot writes the graph in Graphviz's dot language, with the same nodes,
// edges and clusters as Mermaid: render it with `dot -Tsvg`.
func (t *Topology) Dot(w io.Writer) error {
	d := t.draw()
	quote := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	label := func(lines []string) string {
		q := make([]string, len(lines))
		for i, l := range lines {
			q[i] = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l)
		}
		return `"` + strings.Join(q, `\n`) + `"`
	}
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", quote("cartstream"))
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	attrs := func(n node) string {
		switch n.kind {
		case groupNode:
			return "shape=box, style=\"rounded,filled\", fillcolor=\"#dbeafe\""
		case topicNode:
			return "shape=cylinder, style=filled, fillcolor=\"#f3f4f6\""
		default:
			return "shape=cds, style=filled, fillcolor=\"#fef3c7\""
		}
	}
	byID := map[string]node{}
	for _, n := range d.nodes {
		byID[n.id] = n
	}
	for _, c := range d.clusters {
		fmt.Fprintf(&b, "  subgraph cluster_%s {\n    label=%s;\n    style=rounded;\n", c.id, quote(c.label))
		for _, id := range c.nodes {
			fmt.Fprintf(&b, "    %s [label=%s, %s];\n", id, label(byID[id].lines), attrs(byID[id]))
		}
		b.WriteString("  }\n")
	}
	in := d.inCluster()
	for _, n := range d.nodes {
		if !in[n.id] {
			fmt.Fprintf(&b, "  %s [label=%s, %s];\n", n.id, label(n.lines), attrs(n))
		}
	}
	for _, e := range d.edges {
		var a []string
		if l := e.kind.label(); l != "" {
			a = append(a, "label="+quote(l))
		}
		switch e.kind {
		case lookupEdge:
			a = append(a, "style=dashed")
		case tableEdge, loopEdge:
			a = append(a, "dir=both")
		}
		if len(a) > 0 {
			fmt.Fprintf(&b, "  %s -> %s [%s];\n", e.from, e.to, strings.Join(a, ", "))
		} else {
			fmt.Fprintf(&b, "  %s -> %s;\n", e.from, e.to)
		}
	}
	b.WriteString("}\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("topology: dot: %w", err)
	}
	return nil
}
