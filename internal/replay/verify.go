package replay

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/debezium"
	"cartstream/internal/partition"
	"cartstream/internal/streamtime"
	"cartstream/processors/carts"
	"cartstream/processors/cdc"
	"cartstream/schemas"
	"cartstream/topology"
)

// MaxDiffKeys is how many differing keys Verify reports per partition.
const MaxDiffKeys = 5

// appliedSlack narrows the applied event ids the carts digest covers to
// those within carts.DedupWindow − appliedSlack of the cart's last event:
// which older ids a cart still remembers depends on the partition's stream
// time when it was last written (ticks and results move it too, in an order
// no replay reproduces), so the ids at the edge of the window are left out.
const appliedSlack = time.Hour

// VerifyConfig is what Verify needs.
type VerifyConfig struct {
	Conn     *Conn
	Topology *topology.Topology
	Group    string // logical name
	// Decoder decodes the cdc groups' Debezium records (with the schema
	// registry, for Avro sources). nil: JSON only, with the group's table's
	// column types for schemaless records (cdc.Columns).
	Decoder *debezium.Decoder
	// Rule derives cart events' event time (as the carts group does).
	Rule streamtime.Rule
	// Override, for carts: normalized promotions (JSON lines) to re-price
	// the replayed events with instead of the live promotions table.
	Override string
	Progress Progress
	Out      io.Writer
}

// KeyDiff is one key whose state differs.
type KeyDiff struct {
	Key    string
	Live   string // digest prefix, or "absent"
	Shadow string
}

// PartitionResult is one table partition's comparison.
type PartitionResult struct {
	Partition  int32
	LiveKeys   int
	ShadowKeys int
	Digest     string // of the live partition
	Differing  int
	Diffs      []KeyDiff // the first MaxDiffKeys, by key
}

// Equal reports whether the partition's digests are equal.
func (r PartitionResult) Equal() bool { return r.Differing == 0 }

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	Group      string
	Partitions []PartitionResult
	Records    int64 // input records replayed
	Changelog  int64 // changelog records read
	Elapsed    time.Duration
	Notes      []string
	Override   *OverrideReport
}

// Equal reports whether every partition is equal.
func (v VerifyResult) Equal() bool {
	for _, p := range v.Partitions {
		if !p.Equal() {
			return false
		}
	}
	return true
}

// ErrDifferent is returned by Verify when a partition differs.
var ErrDifferent = errors.New("replay: verify: the rebuilt state differs from the changelog")

// Verify rebuilds the group's table from its inputs in memory, with the
// groups' pure cores (cdc.Apply, carts.ApplyEvent), from where its state
// was last rebuilt (the latest reset's offsets, else the log start) up to
// its committed offsets, and compares per-partition digests with the live
// changelog (latest value per key). The group must be stopped (its
// committed offsets and changelog still). It writes the report to Out and
// returns ErrDifferent when a partition differs.
func Verify(ctx context.Context, cfg VerifyConfig) (VerifyResult, error) {
	start := time.Now()
	prog := cfg.Progress
	if prog == nil {
		prog = nopProgress{}
	}
	g, ok := cfg.Topology.Group(cfg.Group)
	if !ok {
		return VerifyResult{}, fmt.Errorf("replay: unknown group %q", cfg.Group)
	}
	res := VerifyResult{Group: g.Name}
	if g.Name == topology.GroupInventory {
		return res, errors.New("replay: verify: the inventory group holds decisions, not state derived from facts; there is nothing to rebuild it from")
	}
	if cfg.Override != "" && g.Name != topology.GroupCarts {
		return res, errors.New("replay: --promotions-override is for --group carts")
	}
	c := cfg.Conn
	if err := CheckStopped(ctx, c.Client, c.Admin, g.ID, StopCheck{}); err != nil {
		return res, err
	}
	resets, err := ReadResets(ctx, c.Cluster(), c.Admin, cfg.Topology.Names.Resets)
	if err != nil {
		return res, err
	}
	from := map[[2]any]int64{}
	for _, o := range resets[g.ID].From {
		from[[2]any{o.Topic, o.Partition}] = o.Offset
	}
	mainInput := g.Inputs[0] // cart-events, or the cdc group's source
	all, err := wholeTopics(ctx, c.Admin, mainInput, g.Table)
	if err != nil {
		return res, err
	}
	committed, err := c.Admin.FetchOffsets(ctx, g.ID)
	if err != nil {
		return res, fmt.Errorf("replay: committed offsets of %s: %w", g.ID, err)
	}
	var inputs, changelog []Range
	var nparts int32
	for _, r := range all {
		if r.Topic == g.Table {
			changelog = append(changelog, r)
			continue
		}
		nparts++
		f := max(r.From, 0)
		if o, ok := from[[2]any{r.Topic, r.Partition}]; ok {
			if o < r.From {
				res.Notes = append(res.Notes, fmt.Sprintf("%s[%d]: retention deleted records %d..%d the state was built from; differences there are expected", r.Topic, r.Partition, o, r.From-1))
			}
			f = max(o, r.From)
		}
		to := f
		if cm, ok := committed.Lookup(r.Topic, r.Partition); ok && cm.Err == nil && cm.At > f {
			to = cm.At
		}
		inputs = append(inputs, Range{Topic: r.Topic, Partition: r.Partition, From: f, To: to})
	}
	var total int64
	for _, r := range append(append([]Range{}, inputs...), changelog...) {
		total += r.To - r.From
	}
	prog.Start("verify "+g.Name, total)
	var shadow map[int32]map[string][]byte
	switch {
	case g.Name == topology.GroupCarts:
		var rep *OverrideReport
		shadow, rep, err = shadowCarts(ctx, cfg, g, inputs, committed, nparts, prog)
		res.Override = rep
	default:
		shadow, err = shadowCDC(ctx, cfg, g, inputs, nparts, prog)
	}
	if err != nil {
		prog.Done()
		return res, err
	}
	for _, r := range inputs {
		res.Records += r.To - r.From
	}
	live := map[int32]map[string][]byte{}
	err = readRanges(ctx, c.Cluster(), changelog, func(r *kgo.Record) error {
		m := live[r.Partition]
		if m == nil {
			m = map[string][]byte{}
			live[r.Partition] = m
		}
		if r.Value == nil {
			delete(m, string(r.Key))
		} else {
			m[string(r.Key)] = r.Value
		}
		return nil
	}, func(n int) { prog.Add(int64(n)) })
	prog.Done()
	if err != nil {
		return res, err
	}
	for _, r := range changelog {
		res.Changelog += r.To - r.From
	}
	digest := func(v []byte) (string, error) { return hashOf(v), nil }
	if g.Name == topology.GroupCarts {
		digest = cartDigest
	}
	for _, r := range changelog {
		pr, err := compare(r.Partition, live[r.Partition], shadow[r.Partition], digest)
		if err != nil {
			return res, err
		}
		res.Partitions = append(res.Partitions, pr)
	}
	res.Elapsed = time.Since(start)
	if cfg.Out != nil {
		if err := res.Write(cfg.Out); err != nil {
			return res, err
		}
	}
	if !res.Equal() {
		return res, ErrDifferent
	}
	return res, nil
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// compare digests each key's state and the partition as a whole (keys in
// order, each as its length-prefixed key and state digest).
func compare(p int32, live, shadow map[string][]byte, digest func([]byte) (string, error)) (PartitionResult, error) {
	pr := PartitionResult{Partition: p, LiveKeys: len(live), ShadowKeys: len(shadow)}
	keys := make([]string, 0, len(live)+len(shadow))
	for k := range live {
		keys = append(keys, k)
	}
	for k := range shadow {
		if _, ok := live[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	whole := sha256.New()
	var n [8]byte
	for _, k := range keys {
		lv, inLive := live[k]
		sv, inShadow := shadow[k]
		ld, sd := "absent", "absent"
		var err error
		if inLive {
			if ld, err = digest(lv); err != nil {
				return pr, fmt.Errorf("replay: changelog partition %d key %q: %w", p, k, err)
			}
			binary.BigEndian.PutUint64(n[:], uint64(len(k)))
			whole.Write(n[:])
			whole.Write([]byte(k))
			whole.Write([]byte(ld))
		}
		if inShadow {
			if sd, err = digest(sv); err != nil {
				return pr, err
			}
		}
		if ld != sd {
			pr.Differing++
			if len(pr.Diffs) < MaxDiffKeys {
				pr.Diffs = append(pr.Diffs, KeyDiff{Key: k, Live: short(ld), Shadow: short(sd)})
			}
		}
	}
	pr.Digest = hex.EncodeToString(whole.Sum(nil))
	return pr, nil
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// Write prints the result for people.
func (v VerifyResult) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "verify %s: %d input records replayed, %d changelog records read in %s\n", v.Group, v.Records, v.Changelog, v.Elapsed.Round(time.Millisecond))
	for _, p := range v.Partitions {
		if p.Equal() {
			fmt.Fprintf(&b, "  partition %d: equal (%d keys, digest %s)\n", p.Partition, p.LiveKeys, short(p.Digest))
			continue
		}
		fmt.Fprintf(&b, "  partition %d: DIFFERENT: %d of %d keys (live %d, rebuilt %d); first:\n", p.Partition, p.Differing, max(p.LiveKeys, p.ShadowKeys), p.LiveKeys, p.ShadowKeys)
		for _, d := range p.Diffs {
			fmt.Fprintf(&b, "    %s: live %s, rebuilt %s\n", d.Key, d.Live, d.Shadow)
		}
	}
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if v.Equal() {
		b.WriteString("all partitions equal\n")
	}
	if v.Override != nil {
		v.Override.write(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shadowCDC rebuilds a cdc group's table: the last row per source key, as
// cdc.Apply derives it. Records the group dead-letters are skipped; a
// transient decode failure (schema registry unreachable) fails Verify.
func shadowCDC(ctx context.Context, cfg VerifyConfig, g topology.Group, inputs []Range, nparts int32, prog Progress) (map[int32]map[string][]byte, error) {
	var kind cdc.Kind
	for _, k := range cdc.Kinds() {
		if cdc.GroupName(k) == g.Name {
			kind = k
		}
	}
	dec := cfg.Decoder
	if dec == nil {
		dec = &debezium.Decoder{Columns: cdc.Columns(kind)}
	}
	shadow := map[int32]map[string][]byte{}
	err := readRanges(ctx, cfg.Conn.Cluster(), inputs, func(r *kgo.Record) error {
		owner := partition.For(r.Key, nparts)
		m := shadow[owner]
		if m == nil {
			m = map[string][]byte{}
			shadow[owner] = m
		}
		var rec debezium.Record
		var err error
		if kind == cdc.Outbox {
			rec, err = dec.DecodeOutbox(ctx, r.Key, r.Value)
		} else {
			rec, err = dec.Decode(ctx, r.Key, r.Value)
		}
		if errors.Is(err, debezium.ErrTransient) {
			return fmt.Errorf("replay: verify: %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		if err != nil {
			return nil // dead-lettered by the group
		}
		key := string(r.Key)
		prev := m[key]
		out, err := cdc.Apply(kind, rec, prev, cdc.Origin{At: cdc.EventTime(rec, r.Timestamp),
			Source: schemas.Source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}})
		if err != nil {
			return nil
		}
		switch {
		case out.DeleteState:
			delete(m, key)
		case out.State != nil:
			m[key] = out.State
		}
		return nil
	}, func(n int) { prog.Add(int64(n)) })
	return shadow, err
}

// cartContents is what the carts digest covers: the cart's contents, a
// function of its own events only (DESIGN §8). Checkouts depend on
// reservation results, offers on the catalog.
type cartContents struct {
	ID         string       `json:"cart_id"`
	Version    int64        `json:"cart_version"`
	Currency   string       `json:"currency"`
	CustomerID *string      `json:"customer_id"`
	Segments   []string     `json:"segments"`
	Coupons    []string     `json:"coupons"`
	Lines      []carts.Line `json:"lines"`
	Applied    []string     `json:"applied"`
}

func contentsOf(c *carts.Cart) cartContents {
	cc := cartContents{ID: c.ID, Version: c.Version, Currency: c.Currency, CustomerID: c.CustomerID,
		Segments: c.Segments, Coupons: c.Coupons, Lines: c.Lines}
	cut := c.LastEventTime.Add(-carts.DedupWindow + appliedSlack)
	for _, a := range c.Applied {
		if !a.At.Before(cut) {
			cc.Applied = append(cc.Applied, a.ID)
		}
	}
	sort.Strings(cc.Applied)
	if len(cc.Segments) == 0 {
		cc.Segments = nil
	}
	if len(cc.Coupons) == 0 {
		cc.Coupons = nil
	}
	if len(cc.Lines) == 0 {
		cc.Lines = nil
	}
	return cc
}

func cartDigest(v []byte) (string, error) {
	c, err := carts.DecodeCart(v)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(contentsOf(c))
	if err != nil {
		return "", err
	}
	return hashOf(b), nil
}
