package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestPasswordNotInHelpOrDocs sets a SASL password every way an operator
// can (environment, YAML file, flag) and checks that neither --help of any
// command nor the generated configuration docs show it, and that the
// checked-in docs/configuration.md documents the password flags without a
// default.
func TestPasswordNotInHelpOrDocs(t *testing.T) {
	const secret = "help-must-not-show-this-42"
	t.Setenv("CARTSTREAM_KAFKA_SASL_PASSWORD", secret)
	cfgFile := t.TempDir() + "/cartstream.yaml"
	if err := os.WriteFile(cfgFile, []byte("kafka-sasl-password: "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARTSTREAM_CONFIG", cfgFile)

	var commands []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && c.Flags().Lookup("kafka-sasl-password") != nil {
			commands = append(commands, strings.TrimPrefix(c.CommandPath(), "cartstream "))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	for _, want := range []string{"run", "demo seed", "produce", "replay", "dlq list", "dlq show", "dlq redrive", "loadgen"} {
		found := false
		for _, c := range commands {
			found = found || c == want
		}
		if !found {
			t.Errorf("`cartstream %s` has no --kafka-sasl-password (RegisterKafka or RegisterKafkaSecurity)", want)
		}
	}
	for _, c := range commands {
		for _, extra := range [][]string{{"--help"}, {"--kafka-sasl-password", secret, "--help"}} {
			args := append(strings.Fields(c), extra...)
			out, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("cartstream %s: %v", strings.Join(args, " "), err)
			}
			if strings.Contains(out, secret) {
				t.Errorf("cartstream %s shows the password", strings.Join(args, " "))
			}
			if !strings.Contains(out, "--kafka-sasl-password-file") {
				t.Errorf("cartstream %s does not document --kafka-sasl-password-file", strings.Join(args, " "))
			}
		}
	}

	var docs bytes.Buffer
	if err := writeConfigDocs(&docs, newRootCmd()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(docs.String(), secret) {
		t.Error("generated configuration docs show the password")
	}
	have, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(have), "| `--kafka-sasl-password` | `CARTSTREAM_KAFKA_SASL_PASSWORD` | `(empty)` |") {
		t.Error("docs/configuration.md does not document --kafka-sasl-password with an empty default")
	}
}
