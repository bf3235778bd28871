package main

import (
	"bytes"
	"os"
	"testing"
)

// TestConfigurationDocIsCurrent keeps docs/configuration.md generated from
// the CLI: a flag added or changed without `make docs` fails here.
func TestConfigurationDocIsCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := writeConfigDocs(&b, newRootCmd()); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Errorf("docs/configuration.md is stale: run `make docs`")
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Short == "" {
			t.Errorf("command %s has no short help", c.Name())
		}
	}
}
