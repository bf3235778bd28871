package loadgen

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/shopsim"
	"cartstream/topology"
)

// demoSeed is the shop simulator seed `make run` (and `cartstream demo
// seed` by default) builds the demo catalog with; loadgen's products copy
// its products and its carts use its coupon codes.
const demoSeed = 1

// checkTopics fails unless every topic loadgen writes or reads exists.
func (r *run) checkTopics(ctx context.Context) error {
	n := r.topo.Names
	names := []string{n.CartEvents, n.Checkouts, n.Products, n.Inventory, n.Outbox}
	details, err := r.adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("loadgen: list topics on %s: %w", strings.Join(r.cfg.Brokers, ","), err)
	}
	var missing []string
	for _, name := range names {
		if d, ok := details[name]; !ok || d.Err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("loadgen: topic(s) %s do not exist on %s: start cartstream first (`make run`, or `cartstream run --brokers …`, creates them)",
			strings.Join(missing, ", "), strings.Join(r.cfg.Brokers, ","))
	}
	return nil
}

// createCatalog builds the namespace's products in a simulated database
// of its own, checks that the namespace is unused, produces the Debezium
// records of the inserts and waits until cartstream has applied them. It
// returns the database (whose clock is behind the wall clock), the SKUs by
// popularity and the demo catalog's coupon codes.
func (r *run) createCatalog(ctx context.Context) (*shopsim.Sim, []string, []string, error) {
	cfg := r.cfg
	// Every insert lets up to MaxTransactionGap of simulated time pass:
	// start far enough back that the catalog ends before now.
	now := time.Now().UTC()
	lead := time.Duration(cfg.SKUs+1)*shopsim.MaxTransactionGap + time.Second
	sim := shopsim.New(cfg.Seed, shopsim.Options{Start: now.Add(-lead).Truncate(time.Millisecond)})
	if t := sim.Topics(); t.Products != r.topo.Names.Products || t.Inventory != r.topo.Names.Inventory || t.Outbox != r.topo.Names.Outbox {
		return nil, nil, nil, fmt.Errorf("%w: the simulator writes %+v, the topology names others", ErrConfig, t)
	}

	demo := shopsim.New(demoSeed, shopsim.Options{Start: now})
	demo.SnapshotCatalog(shopsim.DemoProducts, shopsim.DemoPromotions)
	products := demo.Products()
	var codes []string
	for _, p := range demo.Promotions() {
		if p.CouponCode != nil && !slices.Contains(codes, *p.CouponCode) {
			codes = append(codes, *p.CouponCode)
		}
	}
	slices.Sort(codes)

	skus := make([]string, cfg.SKUs)
	var recs []shopsim.Record
	keys := map[string]bool{}
	for i := range skus {
		p := products[i%len(products)]
		p.SKU = SKU(cfg.Namespace, i+1)
		p.Active = true
		skus[i] = p.SKU
		stock := cfg.Stock
		if p.SKU == cfg.FlashSKU {
			stock = cfg.FlashUnits
		}
		rs, err := sim.AddProduct(p, stock)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("loadgen: catalog: %w", err)
		}
		for _, rec := range rs {
			if rec.Topic == r.topo.Names.Products {
				keys[string(rec.Key)] = true
			}
		}
		recs = append(recs, rs...)
	}

	used, err := r.anyKey(ctx, r.topo.Names.Products, keys)
	if err != nil {
		return nil, nil, nil, err
	}
	if used != "" {
		return nil, nil, nil, fmt.Errorf("%w: %s already has products of namespace %s (key %s): use another --seed or --namespace, or an empty data dir",
			ErrNamespaceUsed, r.topo.Names.Products, cfg.Namespace, used)
	}

	r.log.Info("creating the catalog", "products", len(skus), "records", len(recs))
	produced := map[string]map[int32]int64{} // next offset after ours
	for _, res := range r.cl.ProduceSync(ctx, toKafka(recs)...) {
		if res.Err != nil {
			return nil, nil, nil, fmt.Errorf("loadgen: produce the catalog to %s: %w", res.Record.Topic, res.Err)
		}
		rec := res.Record
		if produced[rec.Topic] == nil {
			produced[rec.Topic] = map[int32]int64{}
		}
		produced[rec.Topic][rec.Partition] = max(produced[rec.Topic][rec.Partition], rec.Offset+1)
	}
	if err := r.waitApplied(ctx, produced); err != nil {
		return nil, nil, nil, err
	}
	return sim, skus, codes, nil
}

func toKafka(recs []shopsim.Record) []*kgo.Record {
	out := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		kr := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		out[i] = kr
	}
	return out
}

// anyKey reads topic from its start to its current end and returns the
// first record key in keys ("" when none is).
func (r *run) anyKey(ctx context.Context, topic string, keys map[string]bool) (string, error) {
	starts, err := r.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return "", fmt.Errorf("loadgen: start offsets of %s: %w", topic, err)
	}
	ends, err := r.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return "", fmt.Errorf("loadgen: end offsets of %s: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	until := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		s, ok := starts.Lookup(topic, o.Partition)
		if ok && o.Err == nil && s.Err == nil && o.Offset > s.Offset {
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
			until[o.Partition] = o.Offset
		}
	})
	if len(from) == 0 {
		return "", nil
	}
	cl, err := r.cfg.NewClient(kgo.ClientID("cartstream-loadgen-check"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))
	if err != nil {
		return "", fmt.Errorf("loadgen: kafka client: %w", err)
	}
	defer cl.Close()
	found := ""
	for len(until) > 0 && found == "" {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("loadgen: read %s: %w", topic, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("loadgen: read %s/%d: %w", t, p, err) })
		if ferr != nil {
			return "", ferr
		}
		fs.EachRecord(func(rec *kgo.Record) {
			if keys[string(rec.Key)] && found == "" {
				found = string(rec.Key)
			}
			if rec.Offset+1 >= until[rec.Partition] {
				delete(until, rec.Partition)
			}
		})
	}
	return found, nil
}

// waitApplied waits until the cdc groups have committed past the catalog's
// records and the inventory group past what they re-keyed, so the first
// checkout finds its stock rows.
func (r *run) waitApplied(ctx context.Context, produced map[string]map[int32]int64) error {
	n := r.topo.Names
	for _, w := range []struct {
		group, topic string
	}{{topology.GroupCDCProducts, n.Products}, {topology.GroupCDCInventory, n.Inventory}} {
		if err := r.waitCommitted(ctx, w.group, map[string]map[int32]int64{w.topic: produced[w.topic]}); err != nil {
			return err
		}
	}
	ends, err := r.adm.ListEndOffsets(ctx, n.InventoryChanges)
	if err != nil {
		return fmt.Errorf("loadgen: end offsets of %s: %w", n.InventoryChanges, err)
	}
	want := map[string]map[int32]int64{n.InventoryChanges: {}}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[n.InventoryChanges][o.Partition] = o.Offset
		}
	})
	return r.waitCommitted(ctx, topology.GroupInventory, want)
}

// waitCommitted waits until group has committed at least want.
func (r *run) waitCommitted(ctx context.Context, name string, want map[string]map[int32]int64) error {
	g, ok := r.topo.Group(name)
	if !ok {
		return fmt.Errorf("loadgen: no group %s in the topology", name)
	}
	r.log.Info("waiting for cartstream to apply the catalog", "group", g.ID)
	behind := ""
	for {
		committed, err := r.adm.FetchOffsets(ctx, g.ID)
		if err == nil {
			behind = ""
			for topic, parts := range want {
				for p, off := range parts {
					if c, ok := committed.Lookup(topic, p); !ok || c.Err != nil || c.At < off {
						behind = fmt.Sprintf("%s/%d below %d", topic, p, off)
					}
				}
			}
			if behind == "" {
				return nil
			}
		} else {
			behind = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("loadgen: cartstream did not apply the catalog (group %s: %s; is an instance running?): %w", g.ID, behind, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}
