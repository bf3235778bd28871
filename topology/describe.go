package topology

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Describe writes the graph in the spirit of Kafka Streams'
// Topology#describe(): every group with its inputs, lookups, table and
// outputs, then every topic with its key, value, writers and readers, then
// the co-partitioned sets. The printout is the architecture diagram.
func (t *Topology) Describe(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Topology (group id prefix %q, %d partitions by default)\n\n", t.Prefix, t.Partitions)
	for _, g := range t.Groups {
		fmt.Fprintf(&b, "Group %s (Kafka group id %s): %s\n", g.Name, g.ID, g.Doc)
		for _, in := range g.Inputs {
			fmt.Fprintf(&b, "  input   --> %s\n", in)
		}
		for _, l := range g.Lookups {
			fmt.Fprintf(&b, "  lookup  --> %s\n", l)
		}
		fmt.Fprintf(&b, "  loop    <-> %s\n", g.Loop)
		fmt.Fprintf(&b, "  table   <-> %s\n", g.Table)
		for _, o := range g.Outputs {
			fmt.Fprintf(&b, "  output  <-- %s\n", o)
		}
		if g.CoPartitionSet != "" {
			fmt.Fprintf(&b, "  co-partitioned set: %s\n", g.CoPartitionSet)
		} else {
			fmt.Fprintf(&b, "  co-partitioned with its own input\n")
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("topology: describe: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tKEY\tVALUE\tWRITTEN BY\tREAD BY\tSETTINGS")
	for _, tp := range t.Topics {
		var s []string
		if tp.Source {
			s = append(s, "source")
		}
		if tp.Compacted {
			s = append(s, "compacted")
		} else if tp.Retention > 0 {
			s = append(s, "retention "+days(tp.Retention))
		}
		if tp.LogAppendTime {
			s = append(s, "LogAppendTime")
		}
		if tp.CoPartitionSet != "" {
			s = append(s, "set "+tp.CoPartitionSet)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", tp.Name, tp.Key, tp.Value,
			strings.Join(tp.WrittenBy, ", "), strings.Join(tp.ReadBy, ", "), strings.Join(s, ", "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("topology: describe: %w", err)
	}
	sets := t.CoPartitionSets()
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	var c strings.Builder
	c.WriteString("\nCo-partitioned sets (one partition count each):\n")
	for _, n := range names {
		fmt.Fprintf(&c, "  %s: %s\n", n, strings.Join(sets[n], ", "))
	}
	if _, err := io.WriteString(w, c.String()); err != nil {
		return fmt.Errorf("topology: describe: %w", err)
	}
	return nil
}

// days renders a retention in days where it is whole days.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
