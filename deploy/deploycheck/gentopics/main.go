// Command gentopics prints deploy/kafka/create-topics.sh, generated from
// the topology's default declaration:
//
//	go run ./deploy/deploycheck/gentopics > deploy/kafka/create-topics.sh
//
// (make deploy-gen). deploy/deploycheck fails when the committed script
// differs from what this prints.
package main

import (
	"fmt"
	"os"

	"cartstream/deploy/deploycheck"
	"cartstream/topology"
)

func main() {
	if _, err := os.Stdout.Write(deploycheck.TopicsScript(topology.New(topology.Config{}))); err != nil {
		fmt.Fprintln(os.Stderr, "gentopics:", err)
		os.Exit(1)
	}
}
