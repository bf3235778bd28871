package cdc

import (
	"fmt"

	"cartstream/internal/debezium"
)

// Columns returns the logical types of the columns of kind k's table whose
// wire form needs a type to be read (deploy/postgres/schema.sql): numeric
// scales, timestamptz and jsonb. A record that carries its schema never
// needs them; a schemaless one (the JSON converter with
// schemas.enable=false) does, or its decimals stay base64 and its jsonb
// columns strings. The outbox needs none: the router's payload is the value.
func Columns(k Kind) map[string]debezium.Column {
	zoned := debezium.Column{Type: debezium.TypeZonedTimestamp}
	money := debezium.Column{Type: debezium.TypeDecimal, Scale: 2}
	jsonb := debezium.Column{Type: debezium.TypeJSON}
	switch k {
	case Products:
		return map[string]debezium.Column{"price": money, "updated_at": zoned}
	case Promotions:
		return map[string]debezium.Column{
			"valid_from": zoned, "valid_until": zoned,
			"condition": jsonb, "target": jsonb, "effect": jsonb,
			"max_discount": money,
		}
	case Inventory:
		return map[string]debezium.Column{"updated_at": zoned}
	}
	return nil
}

// AllColumns merges every kind's Columns for a decoder shared by the cdc
// groups. A column name means the same type in every table; it fails if a
// table ever gives one name two types.
func AllColumns() (map[string]debezium.Column, error) {
	out := map[string]debezium.Column{}
	for _, k := range Kinds() {
		for name, c := range Columns(k) {
			if prev, ok := out[name]; ok && prev != c {
				return nil, fmt.Errorf("cdc: column %s is %s in %s but %s in another table", name, c.Type, k, prev.Type)
			}
			out[name] = c
		}
	}
	return out, nil
}
