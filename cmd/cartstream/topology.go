package main

import (
	"github.com/spf13/cobra"

	"cartstream/topology"
)

func newTopologyCmd() *cobra.Command {
	var (
		prefix     string
		partitions int
	)
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Print the processing graph: groups, topics, keys, values and co-partitioned sets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := topology.New(topology.Config{GroupPrefix: prefix, Partitions: int32(partitions)})
			return t.Describe(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&prefix, "group-prefix", topology.DefaultGroupPrefix, "prefix of every group's Kafka group id")
	cmd.Flags().IntVar(&partitions, "partitions", topology.DefaultPartitions, "partition count of topics cartstream creates")
	return cmd
}
