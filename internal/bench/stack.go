package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
	"cartstream/internal/shopsim"
	"cartstream/topology"
)

// Timeouts of the harness's waits.
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = 30 * time.Second
	// loadTimeout bounds waiting for cartstream to apply a catalog.
	loadTimeout = 10 * time.Minute
)

// env is what every measurement of a run shares.
type env struct {
	bin        string // the cartstream binary
	work       string // logs and data dirs
	out        string // profiles, plots, raw results
	partitions int
	log        io.Writer // progress
	hc         *http.Client
	stacks     int // stacks started, for names
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "bench: "+format+"\n", args...)
}

// stack is one broker process and, at times, one cartstream instance
// process on it, with the harness's Kafka clients.
type stack struct {
	e       *env
	name    string
	dir     string
	broker  *proc
	addr    string
	cluster kafkasec.Cluster
	admCl   *kgo.Client
	adm     *kadm.Client
	topo    *topology.Topology

	inst      *proc
	http      string
	instances int
}

// newStack starts a broker on a fresh data dir. Call close when done.
func (e *env) newStack(ctx context.Context, name string) (*stack, error) {
	e.stacks++
	s := &stack{e: e, name: name, dir: filepath.Join(e.work, fmt.Sprintf("%02d-%s", e.stacks, name))}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var err error
	if s.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	s.broker, err = startProc(s.dir, "broker", e.bin, "broker", "--data-dir", filepath.Join(s.dir, "broker"),
		"--listen", s.addr, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := waitTCP(ctx, s.broker, s.addr, startTimeout); err != nil {
		s.close()
		return nil, err
	}
	// The harness's own plaintext broker: no security settings apply.
	s.cluster = kafkasec.Cluster{Brokers: []string{s.addr}}
	if s.admCl, err = s.cluster.NewClient(kgo.ClientID("bench-admin")); err != nil {
		s.close()
		return nil, fmt.Errorf("bench: admin client: %w", err)
	}
	s.adm = kadm.NewClient(s.admCl)
	s.topo = topology.New(topology.Config{Partitions: int32(e.partitions)})
	return s, nil
}

// ensureTopics creates cartstream's topics as an instance would.
func (s *stack) ensureTopics(ctx context.Context) error {
	if _, err := s.topo.Ensure(ctx, s.adm, topology.EnsureOptions{}); err != nil {
		return fmt.Errorf("bench: topics: %w", err)
	}
	return nil
}

// startInstance starts `cartstream run` on the stack's broker (with
// /debug/pprof/ served) and waits until /readyz answers 200. It returns
// how long that took from the process's start.
func (s *stack) startInstance(ctx context.Context) (time.Duration, error) {
	if s.inst != nil {
		return 0, fmt.Errorf("bench: %s: an instance is running", s.name)
	}
	var err error
	if s.http == "" {
		if s.http, err = freeAddr(); err != nil {
			return 0, err
		}
	}
	s.instances++
	s.inst, err = startProc(s.dir, "cartstream-"+strconv.Itoa(s.instances), s.e.bin, "run",
		"--brokers", s.addr, "--data-dir", s.dataDir(), "--http-listen", s.http,
		"--instance-id", "bench-"+s.name, "--partitions", strconv.Itoa(s.e.partitions),
		"--log-level", "warn", "--pprof")
	if err != nil {
		return 0, err
	}
	ready, err := waitReady(ctx, s.inst, s.http, startTimeout)
	if err != nil {
		return 0, err
	}
	return ready.Sub(s.inst.started), nil
}

// dataDir is the instance's --data-dir.
func (s *stack) dataDir() string { return filepath.Join(s.dir, "instance") }

// stopInstance stops the instance with SIGTERM and waits for its exit.
func (s *stack) stopInstance() error {
	if s.inst == nil {
		return nil
	}
	err := s.inst.stop(stopTimeout)
	s.inst = nil
	return err
}

// group returns the Kafka group id and inputs of a logical group.
func (s *stack) group(name string) topology.Group {
	g, _ := s.topo.Group(name)
	return g
}

// loadCatalog produces the catalog's records and waits until the CDC
// groups committed them (their outputs are written before they commit).
func (s *stack) loadCatalog(ctx context.Context, cat *catalog) error {
	cl, err := s.cluster.NewClient(bulkProducerOpts("bench-cdc")...)
	if err != nil {
		return fmt.Errorf("bench: cdc producer: %w", err)
	}
	defer cl.Close()
	if err := shopsim.Produce(ctx, cl, cat.recs); err != nil {
		return fmt.Errorf("bench: load catalog: %w", err)
	}
	for _, name := range []string{topology.GroupCDCProducts, topology.GroupCDCPromotions} {
		g := s.group(name)
		if err := waitCaughtUp(ctx, s.adm, loadTimeout, g.ID, g.Inputs...); err != nil {
			return err
		}
	}
	return nil
}

// close stops everything the stack started.
func (s *stack) close() {
	if s.inst != nil {
		if err := s.stopInstance(); err != nil {
			s.e.logf("%s: %v", s.name, err)
		}
	}
	if s.admCl != nil {
		s.admCl.Close()
	}
	if s.broker != nil {
		if err := s.broker.stop(stopTimeout); err != nil {
			s.e.logf("%s: %v", s.name, err)
		}
	}
}
