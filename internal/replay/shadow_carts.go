package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/money"
	"cartstream/internal/partition"
	"cartstream/internal/promo"
	"cartstream/internal/ticks"
	"cartstream/processors/carts"
	"cartstream/schemas"
	"cartstream/topology"
)

// lastRecords is how many of the last processed records of the ticks and
// results partitions are read for a partition's final stream time.
const lastRecords = 16

// shadowCarts rebuilds the carts table's contents from cart-events with
// carts.ApplyEvent, at the stream time cart events alone give (see
// appliedSlack), then deletes carts idle at each partition's final stream
// time, which ticks and results move too (their last processed records are
// read for it). With an override it also prices every applied event twice.
func shadowCarts(ctx context.Context, cfg VerifyConfig, g topology.Group, inputs []Range, committed kadm.OffsetResponses, nparts int32, prog Progress) (map[int32]map[string][]byte, *OverrideReport, error) {
	var ov *override
	if cfg.Override != "" {
		var err error
		if ov, err = loadOverride(ctx, cfg); err != nil {
			return nil, nil, err
		}
	}
	names := cfg.Topology.Names
	state := map[int32]map[string]*carts.Cart{}
	streamNow := map[int32]time.Time{}
	err := readRanges(ctx, cfg.Conn.Cluster(), inputs, func(r *kgo.Record) error {
		if r.Value == nil {
			return nil
		}
		ev, err := carts.ParseEvent(r.Value)
		if err != nil || ev.CartID != string(r.Key) {
			return nil // dead-lettered by the group
		}
		owner := partition.For(r.Key, nparts)
		m := state[owner]
		if m == nil {
			m = map[string]*carts.Cart{}
			state[owner] = m
		}
		at, _ := cfg.Rule.EventTime(ev.TS, r.Timestamp)
		if at.After(streamNow[owner]) {
			streamNow[owner] = at
		}
		out, err := carts.ApplyEvent(m[ev.CartID], ev, at, streamNow[owner])
		if err != nil {
			return nil
		}
		if out.Cart != nil {
			m[ev.CartID] = out.Cart
		}
		if ov != nil && out.Applied {
			return ov.price(out.Cart, at)
		}
		return nil
	}, func(n int) { prog.Add(int64(n)) })
	if err != nil {
		return nil, nil, err
	}
	// The final stream time of each partition, for idle carts.
	var tail []Range
	for _, topic := range []string{names.CartsTicks, names.ReservationRes} {
		for p := range nparts {
			if c, ok := committed.Lookup(topic, p); ok && c.Err == nil && c.At > 0 {
				tail = append(tail, Range{Topic: topic, Partition: p, From: max(0, c.At-lastRecords), To: c.At})
			}
		}
	}
	if starts, err := cfg.Conn.Admin.ListStartOffsets(ctx, names.CartsTicks, names.ReservationRes); err == nil {
		for i := range tail {
			if s, ok := starts.Lookup(tail[i].Topic, tail[i].Partition); ok && s.Err == nil {
				tail[i].From = max(tail[i].From, s.Offset)
			}
		}
	}
	err = readRanges(ctx, cfg.Conn.Cluster(), tail, func(r *kgo.Record) error {
		var t time.Time
		if r.Topic == names.CartsTicks {
			if tk, err := ticks.Decode(r.Value); err == nil {
				t = tk.Time()
			}
		} else {
			var res schemas.ReservationResult
			if err := schemas.Unmarshal(r.Value, &res); err == nil {
				t = res.EventTime
			}
		}
		if t.After(streamNow[r.Partition]) {
			streamNow[r.Partition] = t
		}
		return nil
	}, nil)
	if err != nil {
		return nil, nil, err
	}
	shadow := map[int32]map[string][]byte{}
	for p, m := range state {
		out := map[string][]byte{}
		for id, c := range m {
			if c.Idle(streamNow[p], carts.DefaultIdleTTL) {
				continue
			}
			b, err := c.Encode()
			if err != nil {
				return nil, nil, err
			}
			out[id] = b
		}
		shadow[p] = out
	}
	if ov == nil {
		return shadow, nil, nil
	}
	return shadow, ov.report(), nil
}

// override prices carts with the live promotions and with others.
type override struct {
	file           string
	catalog        promo.MapCatalog
	live, proposed *promo.Index
	eval           promo.Evaluator

	offers, changed int
	before, after   map[string]offerSummary // latest per cart
}

type offerSummary struct {
	currency string
	discount money.Amount
	applied  string
	free     bool
}

// OverrideReport says how offers would change with other promotions.
type OverrideReport struct {
	File          string
	Offers        int // offers re-evaluated (one per applied cart event)
	OffersChanged int
	Carts         int
	CartsAffected int
	// Before and After are the discount totals of every cart's latest
	// offer, per currency, in minor units.
	Before, After map[string]int64
	Top           []CartChange // the carts whose discount moves most
}

// CartChange is one cart's latest discount before and after.
type CartChange struct {
	CartID        string
	Currency      string
	Before, After money.Amount
}

func loadOverride(ctx context.Context, cfg VerifyConfig) (*override, error) {
	ov := &override{file: cfg.Override, catalog: promo.MapCatalog{}, live: promo.NewIndex(), proposed: promo.NewIndex(),
		before: map[string]offerSummary{}, after: map[string]offerSummary{}}
	names := cfg.Topology.Names
	tables, err := wholeTopics(ctx, cfg.Conn.Admin, names.ProductsTable, names.PromotionsTable)
	if err != nil {
		return nil, err
	}
	products := map[string][]byte{}
	promotions := map[string][]byte{}
	err = readRanges(ctx, cfg.Conn.Cluster(), tables, func(r *kgo.Record) error {
		m := products
		if r.Topic == names.PromotionsTable {
			m = promotions
		}
		if r.Value == nil {
			delete(m, string(r.Key))
		} else {
			m[string(r.Key)] = r.Value
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	for sku, v := range products {
		var p schemas.Product
		if err := schemas.Unmarshal(v, &p); err == nil {
			ov.catalog[sku] = p
		}
	}
	for _, v := range promotions {
		var p schemas.Promotion
		if err := schemas.Unmarshal(v, &p); err == nil {
			_ = ov.live.Upsert(p) // the live index leaves out what it cannot index, too
		}
	}
	f, err := os.Open(cfg.Override)
	if err != nil {
		return nil, fmt.Errorf("replay: --promotions-override: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	seen := map[string]int{}
	for line := 1; ; line++ {
		text, rerr := rd.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, fmt.Errorf("%s:%d: %w", cfg.Override, line, rerr)
		}
		if len(bytes.TrimSpace(text)) > 0 {
			p, err := promo.ParsePromotion(text)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", cfg.Override, line, err)
			}
			if first, dup := seen[p.ID]; dup {
				return nil, fmt.Errorf("%s:%d: duplicate id %q (first on line %d)", cfg.Override, line, p.ID, first)
			}
			seen[p.ID] = line
			if err := ov.proposed.Upsert(p); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", cfg.Override, line, err)
			}
		}
		if rerr != nil {
			break
		}
	}
	return ov, nil
}

// price evaluates the cart at its event time with both promotion sets.
func (ov *override) price(c *carts.Cart, at time.Time) error {
	pc := promo.Cart{CartID: c.ID, Currency: c.Currency, Segments: c.Segments, Coupons: c.Coupons}
	if c.CustomerID != nil {
		pc.CustomerID = *c.CustomerID
	}
	for _, l := range c.Lines {
		pc.Lines = append(pc.Lines, promo.CartLine{SKU: l.SKU, Qty: int64(l.Qty)})
	}
	sum := func(idx *promo.Index) (offerSummary, error) {
		o, err := ov.eval.Evaluate(ov.catalog, idx, pc, at, promo.Options{})
		if err != nil {
			return offerSummary{}, err
		}
		ids := make([]string, len(o.Applied))
		for i, a := range o.Applied {
			ids[i] = a.PromotionID + "=" + fmt.Sprint(a.Amount)
		}
		return offerSummary{currency: c.Currency, discount: o.DiscountTotal, applied: strings.Join(ids, ","), free: o.FreeShipping}, nil
	}
	b, err := sum(ov.live)
	if err != nil {
		return fmt.Errorf("replay: price cart %s: %w", c.ID, err)
	}
	a, err := sum(ov.proposed)
	if err != nil {
		return fmt.Errorf("replay: price cart %s: %w", c.ID, err)
	}
	ov.offers++
	if a != b {
		ov.changed++
	}
	ov.before[c.ID], ov.after[c.ID] = b, a
	return nil
}

func (ov *override) report() *OverrideReport {
	r := &OverrideReport{File: ov.file, Offers: ov.offers, OffersChanged: ov.changed, Carts: len(ov.before),
		Before: map[string]int64{}, After: map[string]int64{}}
	for id, b := range ov.before {
		a := ov.after[id]
		r.Before[b.currency] += int64(b.discount)
		r.After[a.currency] += int64(a.discount)
		if a != b {
			r.CartsAffected++
			r.Top = append(r.Top, CartChange{CartID: id, Currency: b.currency, Before: b.discount, After: a.discount})
		}
	}
	sort.Slice(r.Top, func(i, j int) bool {
		di, dj := abs(int64(r.Top[i].After-r.Top[i].Before)), abs(int64(r.Top[j].After-r.Top[j].Before))
		if di != dj {
			return di > dj
		}
		return r.Top[i].CartID < r.Top[j].CartID
	})
	if len(r.Top) > 10 {
		r.Top = r.Top[:10]
	}
	return r
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func (r *OverrideReport) write(b *strings.Builder) {
	fmt.Fprintf(b, "\npromotions override %s (instead of the live promotions table; current products):\n", r.File)
	fmt.Fprintf(b, "  offers re-evaluated: %d, would change: %d\n", r.Offers, r.OffersChanged)
	fmt.Fprintf(b, "  carts affected: %d of %d (latest offer per cart)\n", r.CartsAffected, r.Carts)
	var curs []string
	for c := range r.Before {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, c := range curs {
		cur, err := money.Lookup(c)
		before, after := fmt.Sprint(r.Before[c]), fmt.Sprint(r.After[c])
		if err == nil {
			before, after = money.Amount(r.Before[c]).Format(cur), money.Amount(r.After[c]).Format(cur)
		}
		fmt.Fprintf(b, "  total discount %s: %s -> %s\n", c, before, after)
	}
	for _, t := range r.Top {
		cur, err := money.Lookup(t.Currency)
		before, after := fmt.Sprint(int64(t.Before)), fmt.Sprint(int64(t.After))
		if err == nil {
			before, after = t.Before.Format(cur), t.After.Format(cur)
		}
		fmt.Fprintf(b, "    %s: %s %s -> %s\n", t.CartID, t.Currency, before, after)
	}
}
