// Package topology declares cartstream's whole processing graph as data: every
// topic with its key, value, encoding, writers and readers, every group with
// its inputs, lookups and outputs, and the co-partitioned sets.
//
// Everything else reads this one declaration: topic creation (Ensure), the
// co-partitioning check at startup, the processors' wiring, `cartstream
// topology` and docs/architecture.md. Nothing else in cartstream hard-codes a
// topic name. The package never reads or writes records.
package topology

import (
	"fmt"
	"sort"
	"time"
)

// Default settings for topics cartstream creates.
const (
	// DefaultPartitions is the partition count of every topic cartstream
	// creates when --partitions is not given.
	DefaultPartitions = 8
	// DefaultGroupPrefix prefixes every group's Kafka group id:
	// cartstream-<name>.
	DefaultGroupPrefix = "cartstream"
	// CartEventsRetention bounds how far back a replay of carts can go.
	CartEventsRetention = 7 * 24 * time.Hour
	// DLQRetention keeps dead letters long enough to investigate and redrive.
	DLQRetention = 14 * 24 * time.Hour
	// DefaultRetention applies to the other non-compacted topics.
	DefaultRetention = 7 * 24 * time.Hour
)

// Logical group names, as the CLI and the design use them.
const (
	GroupCDCProducts   = "cdc-products"
	GroupCDCPromotions = "cdc-promotions"
	GroupCDCInventory  = "cdc-inventory"
	GroupCDCOutbox     = "cdc-outbox"
	GroupCarts         = "carts"
	GroupInventory     = "inventory"
)

// Co-partitioned set names.
const (
	SetCarts     = "carts"
	SetInventory = "inventory"
)

// Names holds every configurable topic name. The zero value is not useful;
// start from DefaultNames.
type Names struct {
	Products         string // Debezium change topic of products
	Promotions       string // Debezium change topic of promotions
	Inventory        string // Debezium change topic of inventory
	Outbox           string // Outbox Event Router topic for orders
	CartEvents       string // storefront cart events
	ProductsTable    string // normalized products, by sku
	PromotionsTable  string // normalized promotions, by id
	InventoryChanges string // stock rows, by sku
	OrderLines       string // committed order lines, by sku
	Reservations     string // reservation commands, by sku
	ReservationRes   string // reservation results, by cart_id
	Offers           string // evaluated offers, by cart_id
	Checkouts        string // checkout statuses, by cart_id
	DLQ              string // dead letters
	DLQRedrives      string // one record per redriven dead letter
	CartsTicks       string // ticks for the carts set
	InventoryTicks   string // ticks for the inventory set
	Resets           string // reset epochs, by group
}

// DefaultNames returns the design's default topic names.
func DefaultNames() Names {
	return Names{
		Products:         "shop.public.products",
		Promotions:       "shop.public.promotions",
		Inventory:        "shop.public.inventory",
		Outbox:           "outbox.event.order",
		CartEvents:       "cart-events",
		ProductsTable:    "cartstream.products",
		PromotionsTable:  "cartstream.promotions",
		InventoryChanges: "cartstream.inventory-changes",
		OrderLines:       "cartstream.order-lines",
		Reservations:     "cartstream.reservations",
		ReservationRes:   "cartstream.reservation-results",
		Offers:           "cartstream.offers",
		Checkouts:        "cartstream.checkouts",
		DLQ:              "cartstream.dlq",
		DLQRedrives:      "cartstream.dlq-redrives",
		CartsTicks:       "cartstream.carts-ticks",
		InventoryTicks:   "cartstream.inventory-ticks",
		Resets:           "cartstream.resets",
	}
}

// Config selects names and creation settings.
type Config struct {
	Names       Names
	GroupPrefix string // default DefaultGroupPrefix
	Partitions  int32  // default DefaultPartitions
}

// Topic is one topic of the graph.
type Topic struct {
	Name      string
	Key       string   // what the key is
	Value     string   // what the value is and its encoding
	WrittenBy []string // groups or outside writers
	ReadBy    []string // groups or outside readers
	// Source topics are written by systems outside cartstream (Debezium,
	// storefront clients). cartstream creates them only for embedded and
	// demo use, and never changes their settings.
	Source bool
	// Compacted topics keep the latest record per key.
	Compacted bool
	// Retention is retention.ms for non-compacted topics (0: broker default).
	Retention time.Duration
	// LogAppendTime makes the broker stamp records (cart-events), so one
	// bad client clock cannot move event time for other carts.
	LogAppendTime bool
	// CoPartitionSet names the set whose members must share one partition
	// count ("" when the topic is in no set).
	CoPartitionSet string
}

// Configs returns the topic-level configs cartstream sets at creation.
func (t Topic) Configs() map[string]string {
	c := map[string]string{}
	if t.Compacted {
		c["cleanup.policy"] = "compact"
	} else if t.Retention > 0 {
		c["retention.ms"] = fmt.Sprint(t.Retention.Milliseconds())
	}
	if t.LogAppendTime {
		c["message.timestamp.type"] = "LogAppendTime"
	}
	return c
}

// Group is one goka group of the graph.
type Group struct {
	Name    string   // logical name (cdc-products, carts, ...)
	ID      string   // Kafka group id: <prefix>-<name>
	Inputs  []string // streams consumed (co-partitioned with the table)
	Lookups []string // tables read through views (any partition count)
	Outputs []string // topics emitted to
	// Table is the group table topic goka derives from the group id.
	Table string
	// Loop is the loopback topic: a record found in a partition that does
	// not own its key (a client with another partitioner) is forwarded
	// once through it to the owning partition.
	Loop           string
	CoPartitionSet string
	Doc            string
}

// Topology is the declared graph. Build it with New.
type Topology struct {
	Names      Names
	Prefix     string
	Partitions int32
	Topics     []Topic
	Groups     []Group
}

// New declares the graph for the given names and settings.
func New(cfg Config) *Topology {
	n := cfg.Names
	if n == (Names{}) {
		n = DefaultNames()
	}
	prefix := cfg.GroupPrefix
	if prefix == "" {
		prefix = DefaultGroupPrefix
	}
	parts := cfg.Partitions
	if parts <= 0 {
		parts = DefaultPartitions
	}
	t := &Topology{Names: n, Prefix: prefix, Partitions: parts}
	id := func(g string) string { return prefix + "-" + g }
	table := func(g string) string { return id(g) + "-table" }
	loop := func(g string) string { return id(g) + "-loop" }

	const (
		debeziumValue = "Debezium envelope (JSON or Avro)"
		debezium      = "Debezium"
	)
	t.Topics = []Topic{
		{Name: n.Products, Key: "Debezium key", Value: debeziumValue, WrittenBy: []string{debezium}, ReadBy: []string{GroupCDCProducts}, Source: true},
		{Name: n.Promotions, Key: "Debezium key", Value: debeziumValue, WrittenBy: []string{debezium}, ReadBy: []string{GroupCDCPromotions}, Source: true},
		{Name: n.Inventory, Key: "Debezium key", Value: debeziumValue, WrittenBy: []string{debezium}, ReadBy: []string{GroupCDCInventory}, Source: true},
		{Name: n.Outbox, Key: "aggregateid = order id", Value: "outbox payload (JSON)", WrittenBy: []string{"Debezium Outbox Event Router"}, ReadBy: []string{GroupCDCOutbox}, Source: true},
		{Name: n.CartEvents, Key: "cart_id", Value: "cart event (JSON; Avro with a registry)", WrittenBy: []string{"storefront clients", "cartstream produce"}, ReadBy: []string{GroupCarts}, Source: true, Retention: CartEventsRetention, LogAppendTime: true, CoPartitionSet: SetCarts},
		{Name: n.ProductsTable, Key: "sku", Value: "product (Avro)", WrittenBy: []string{GroupCDCProducts}, ReadBy: []string{GroupCarts + " (lookup)"}, Compacted: true},
		{Name: n.PromotionsTable, Key: "promotion id", Value: "promotion (Avro)", WrittenBy: []string{GroupCDCPromotions}, ReadBy: []string{GroupCarts + " (lookup)"}, Compacted: true},
		{Name: n.InventoryChanges, Key: "sku", Value: "stock row (Avro)", WrittenBy: []string{GroupCDCInventory}, ReadBy: []string{GroupInventory}, Retention: DefaultRetention, CoPartitionSet: SetInventory},
		{Name: n.OrderLines, Key: "sku", Value: "committed order line (Avro)", WrittenBy: []string{GroupCDCOutbox}, ReadBy: []string{GroupInventory}, Retention: DefaultRetention, CoPartitionSet: SetInventory},
		{Name: n.Reservations, Key: "sku", Value: "reservation command (Avro)", WrittenBy: []string{GroupCarts}, ReadBy: []string{GroupInventory}, Retention: DefaultRetention, CoPartitionSet: SetInventory},
		{Name: n.ReservationRes, Key: "cart_id", Value: "reservation result (Avro)", WrittenBy: []string{GroupInventory}, ReadBy: []string{GroupCarts}, Retention: DefaultRetention, CoPartitionSet: SetCarts},
		{Name: n.Offers, Key: "cart_id", Value: "evaluated offer (JSON)", WrittenBy: []string{GroupCarts}, ReadBy: []string{"storefront"}, Retention: DefaultRetention},
		{Name: n.Checkouts, Key: "cart_id", Value: "checkout status (JSON)", WrittenBy: []string{GroupCarts}, ReadBy: []string{"storefront"}, Retention: DefaultRetention},
		{Name: n.DLQ, Key: "original key", Value: "original bytes", WrittenBy: []string{"every group"}, ReadBy: []string{"operators", "cartstream dlq"}, Retention: DLQRetention},
		{Name: n.DLQRedrives, Key: "<dlq partition>:<dlq offset>", Value: "redrive record (JSON)", WrittenBy: []string{"cartstream dlq redrive"}, ReadBy: []string{"cartstream dlq"}, Compacted: true},
		{Name: n.CartsTicks, Key: "none", Value: "tick", WrittenBy: []string{"every instance"}, ReadBy: []string{GroupCarts}, Retention: CartEventsRetention, CoPartitionSet: SetCarts},
		{Name: n.InventoryTicks, Key: "none", Value: "tick", WrittenBy: []string{"every instance"}, ReadBy: []string{GroupInventory}, Retention: CartEventsRetention, CoPartitionSet: SetInventory},
		{Name: n.Resets, Key: "group", Value: "reset epoch", WrittenBy: []string{"cartstream replay"}, ReadBy: []string{"every instance at start"}, Compacted: true},
	}

	cdc := func(name, source, out, doc string) Group {
		return Group{Name: name, ID: id(name), Inputs: []string{source}, Outputs: []string{out, n.DLQ}, Table: table(name), Loop: loop(name), Doc: doc}
	}
	t.Groups = []Group{
		cdc(GroupCDCProducts, n.Products, n.ProductsTable, "last row per source key; products re-keyed by sku"),
		cdc(GroupCDCPromotions, n.Promotions, n.PromotionsTable, "last row per source key; promotions re-keyed by id"),
		cdc(GroupCDCInventory, n.Inventory, n.InventoryChanges, "last row per source key; stock rows re-keyed by sku"),
		cdc(GroupCDCOutbox, n.Outbox, n.OrderLines, "OrderPlaced events fanned out into order lines by sku"),
		{
			Name: GroupCarts, ID: id(GroupCarts),
			Inputs:  []string{n.CartEvents, n.ReservationRes, n.CartsTicks},
			Lookups: []string{n.ProductsTable, n.PromotionsTable},
			Outputs: []string{n.Offers, n.Reservations, n.Checkouts, n.DLQ},
			Table:   table(GroupCarts), Loop: loop(GroupCarts), CoPartitionSet: SetCarts,
			Doc: "cart state; offers on every change; checkout saga",
		},
		{
			Name: GroupInventory, ID: id(GroupInventory),
			Inputs:  []string{n.InventoryChanges, n.Reservations, n.OrderLines, n.InventoryTicks},
			Outputs: []string{n.ReservationRes, n.DLQ},
			Table:   table(GroupInventory), Loop: loop(GroupInventory), CoPartitionSet: SetInventory,
			Doc: "stock, holds and dedup per sku",
		},
	}
	// Group tables and loop topics are topics too: declare them so Ensure
	// creates them co-partitioned with their set (goka would otherwise
	// create them with whatever it guesses).
	for _, g := range t.Groups {
		t.Topics = append(t.Topics, Topic{
			Name: g.Table, Key: "group key", Value: "group table (changelog)", WrittenBy: []string{g.Name}, ReadBy: []string{g.Name + " (recovery)"},
			Compacted: true, CoPartitionSet: g.CoPartitionSet,
		})
		t.Topics = append(t.Topics, Topic{
			Name: g.Loop, Key: "group key", Value: "forwarded input", WrittenBy: []string{g.Name}, ReadBy: []string{g.Name},
			Retention: DefaultRetention, CoPartitionSet: g.CoPartitionSet,
		})
	}
	// CDC groups are co-partitioned with their own source only: their
	// table must have the source's partition count whatever it is. Ensure
	// handles that by creating such tables with the source's count.
	return t
}

// Topic returns the declared topic with the given name.
func (t *Topology) Topic(name string) (Topic, bool) {
	for _, tp := range t.Topics {
		if tp.Name == name {
			return tp, true
		}
	}
	return Topic{}, false
}

// Group returns the group with the given logical name.
func (t *Topology) Group(name string) (Group, bool) {
	for _, g := range t.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// GroupNames returns the logical names of all groups, in declaration order.
func (t *Topology) GroupNames() []string {
	out := make([]string, len(t.Groups))
	for i, g := range t.Groups {
		out[i] = g.Name
	}
	return out
}

// CoPartitionSets returns each set's member topics, sorted.
func (t *Topology) CoPartitionSets() map[string][]string {
	sets := map[string][]string{}
	for _, tp := range t.Topics {
		if tp.CoPartitionSet != "" {
			sets[tp.CoPartitionSet] = append(sets[tp.CoPartitionSet], tp.Name)
		}
	}
	for _, m := range sets {
		sort.Strings(m)
	}
	return sets
}

// sourceOf returns the input topic of a cdc group's table or loop, "" for
// other topics.
func (t *Topology) sourceOf(topic string) string {
	for _, g := range t.Groups {
		if (g.Table == topic || g.Loop == topic) && g.CoPartitionSet == "" && len(g.Inputs) == 1 {
			return g.Inputs[0]
		}
	}
	return ""
}
