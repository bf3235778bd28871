package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"cartstream/topology"
)

// TestArchitectureDocShowsTheCurrentGraph keeps docs/architecture.md's
// generated blocks equal to what `cartstream topology --format mermaid` and
// `cartstream topology` print with the defaults.
func TestArchitectureDocShowsTheCurrentGraph(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{topology.FormatMermaid, topology.FormatText} {
		printed, err := runCLI(t, "topology", "--format", format)
		if err != nil {
			t.Fatal(err)
		}
		fence := "```"
		if format != topology.FormatText {
			fence += format
		}
		block := topology.DocBlockBegin(format) + "\n" + fence + "\n" + printed + "```\n" + topology.DocBlockEnd
		if !bytes.Contains(doc, []byte(block)) {
			t.Errorf("docs/architecture.md does not show what `cartstream topology --format %s` prints: run `make docs` to regenerate it", format)
		}
	}
	current, err := topology.New(topology.Config{}).RewriteDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(current, doc) {
		t.Errorf("docs/architecture.md has stale generated blocks: run `make docs`")
	}
	if !strings.Contains(string(doc), "```mermaid\nflowchart LR\n") {
		t.Errorf("docs/architecture.md has no Mermaid flowchart")
	}
}
