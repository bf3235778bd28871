package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"cartstream/topology"
)

func newTopologyCmd() *cobra.Command {
	var (
		prefix     string
		partitions int
		format     string
	)
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Print the processing graph: groups, topics, keys, values and co-partitioned sets",
		Long: `Print the processing graph declared in topology/: every group with its
inputs, lookups, table, loop and outputs, every topic, and the co-partitioned
sets.

--format text (the default) is the printout in the spirit of Kafka Streams'
Topology#describe(); mermaid is a Mermaid flowchart (paste it into a
` + "```mermaid" + ` block; docs/architecture.md embeds it); dot is Graphviz
(cartstream topology --format dot | dot -Tsvg > topology.svg).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := topology.New(topology.Config{GroupPrefix: prefix, Partitions: int32(partitions)})
			if err := t.Render(cmd.OutOrStdout(), format); err != nil {
				return fmt.Errorf("topology: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "group-prefix", topology.DefaultGroupPrefix, "prefix of every group's Kafka group id")
	cmd.Flags().IntVar(&partitions, "partitions", topology.DefaultPartitions, "partition count of topics cartstream creates")
	cmd.Flags().StringVar(&format, "format", topology.FormatText, "output format: "+strings.Join(topology.Formats(), ", "))
	return cmd
}
