package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"cartstream/topology"
)

// newArchitectureDocsCmd is the hidden command `make docs` runs to rewrite
// the generated blocks of docs/architecture.md (the graph as `cartstream
// topology` prints it with the defaults, as text and as Mermaid).
func newArchitectureDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "architecture-docs FILE",
		Short:  "Rewrite the generated topology blocks of a Markdown file (docs/architecture.md)",
		Args:   cobra.ExactArgs(1),
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			out, err := topology.New(topology.Config{}).RewriteDoc(doc)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return os.WriteFile(args[0], out, 0o644)
		},
	}
}
