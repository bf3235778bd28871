package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"cartstream/internal/debezium"
	"cartstream/internal/registry"
	"cartstream/processors/cdc"
)

func newDebeziumCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "debezium",
		Short: "Inspect Debezium change events as the cdc groups decode them",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDebeziumDecodeCmd())
	return cmd
}

// cdcTable is what the CLI knows of one captured table (DESIGN §4): its
// business key and the logical types of its columns for records that carry
// no schema (schemas.enable=false).
type cdcTable struct {
	keyColumn string // business key column; "" for the outbox
	outbox    bool   // value is the Outbox Event Router's payload
	columns   map[string]debezium.Column
}

// cdcTableNames lists the tables --table accepts.
const cdcTableNames = "products, promotions, inventory or outbox"

func lookupCDCTable(name string) (cdcTable, bool) {
	switch name {
	case "products":
		return cdcTable{keyColumn: "sku", columns: cdc.Columns(cdc.Products)}, true
	case "promotions":
		return cdcTable{keyColumn: "id", columns: cdc.Columns(cdc.Promotions)}, true
	case "inventory":
		return cdcTable{keyColumn: "sku", columns: cdc.Columns(cdc.Inventory)}, true
	case "outbox":
		return cdcTable{outbox: true}, true
	}
	return cdcTable{}, false
}

func newDebeziumDecodeCmd() *cobra.Command {
	var (
		table       string
		key         string
		registryURL string
	)
	cmd := &cobra.Command{
		Use:   "decode",
		Short: "Decode one Debezium record value from stdin and print it as one JSON object",
		Long: `Decode one Kafka record value written by Debezium, read from stdin, and print
what cartstream sees in it as one JSON object:

  {"op":"upsert"|"delete"|"truncate","key":…,"row":{…},"unavailable":[…],"source":{…}}
  {"op":"skip","reason":"transaction_metadata"|"heartbeat"|"logical_message"|"schema_change"}

stdin is the value exactly as on the topic: JSON with or without the
schema/payload wrapper, or Confluent-framed Avro bytes (needs --registry).
Empty input or the text null is a nil value: a tombstone.

--key is the record key exactly as Debezium wrote it (JSON with or without the
wrapper, or a plain string such as the outbox's aggregateid). "key" in the
output is the business key of a --table (products → sku, promotions → id,
inventory → sku, outbox → the order id); without --table it is the key's
payload object (null without --key).

"row" is the after-image (the before-image for deletes; null for tombstones):
decimals as exact strings keeping their scale, timestamps RFC 3339 in UTC,
dates YYYY-MM-DD, jsonb as JSON, arrays as arrays. A TOASTed column Debezium
did not send is left out of "row" and named in "unavailable". With --table,
records without a schema get the table's column types (numeric scale,
timestamptz, jsonb). For --table outbox the value is the Outbox Event Router's
payload and "row" is the parsed payload object.

Bad input exits non-zero with a one-line error on stderr.`,
		Example: `  kcat -C -b localhost:9092 -t shop.public.products -c 1 -e -f '%s' | cartstream debezium decode --table products
  cartstream debezium decode --key '{"id":1004}' < update.json
  cartstream debezium decode --table outbox --key ORD-1 < outbox-value.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var spec cdcTable
			if table != "" {
				var ok bool
				if spec, ok = lookupCDCTable(table); !ok {
					return fmt.Errorf("debezium decode: unknown --table %q (want %s)", table, cdcTableNames)
				}
			}
			in, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("debezium decode: reading stdin: %w", err)
			}
			value := in
			if trimmed := bytes.TrimSpace(in); len(trimmed) == 0 || string(trimmed) == "null" {
				value = nil
			}
			dec := &debezium.Decoder{Columns: spec.columns}
			if registryURL != "" {
				client, err := registry.New(registryURL, registry.Options{})
				if err != nil {
					return fmt.Errorf("debezium decode: --registry: %w", err)
				}
				dec.Registry = client
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			decode := dec.Decode
			if spec.outbox {
				decode = dec.DecodeOutbox
			}
			rec, err := decode(ctx, []byte(key), value)
			if err != nil {
				if registryURL == "" && (len(value) > 0 && value[0] == 0 || len(key) > 0 && key[0] == 0) {
					return fmt.Errorf("debezium decode: %w (Confluent Avro input: pass --registry)", err)
				}
				return fmt.Errorf("debezium decode: %w", err)
			}
			bk, err := businessKey(table, spec, rec)
			if err != nil {
				return fmt.Errorf("debezium decode: %w", err)
			}
			out, err := debezium.Render(rec, bk)
			if err != nil {
				return fmt.Errorf("debezium decode: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	cmd.Flags().StringVar(&table, "table", "", "captured table the record belongs to: "+cdcTableNames+" (default: generic decoding, key = the key's payload)")
	cmd.Flags().StringVar(&key, "key", "", "the record key exactly as Debezium wrote it (JSON, with or without the schema wrapper, or a plain string)")
	cmd.Flags().StringVar(&registryURL, "registry", "", "Confluent schema registry URL for Avro values and keys (credentials as http://key:secret@host)")
	bindConfig(cmd)
	return cmd
}

// businessKey is the "key" printed for a record: the table's business key
// (from the record key, else from the row), or in generic mode the key's
// payload object or string.
func businessKey(table string, spec cdcTable, rec debezium.Record) (any, error) {
	if table == "" {
		switch {
		case rec.Key != nil:
			return rec.Key, nil
		case rec.KeyString != "":
			return rec.KeyString, nil
		}
		return nil, nil
	}
	if rec.Op == debezium.OpSkip || rec.Op == debezium.OpTruncate {
		return nil, nil
	}
	if spec.outbox {
		switch {
		case rec.KeyString != "":
			return rec.KeyString, nil
		case rec.Key["aggregateid"] != nil:
			return rec.Key["aggregateid"], nil
		case rec.Row["order_id"] != nil:
			return rec.Row["order_id"], nil
		}
		return nil, fmt.Errorf("outbox record has no aggregate id: no --key and no order_id in the payload")
	}
	if v, ok := rec.Key[spec.keyColumn]; ok && v != nil {
		return v, nil
	}
	if rec.KeyString != "" {
		return rec.KeyString, nil
	}
	if v, ok := rec.Row[spec.keyColumn]; ok && v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("%s record has no %s in its key or row (key columns: %s)", table, spec.keyColumn, keyColumns(rec))
}

func keyColumns(rec debezium.Record) string {
	if len(rec.Key) == 0 {
		return "none"
	}
	cols := make([]string, 0, len(rec.Key))
	for c := range rec.Key {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return strings.Join(cols, ", ")
}
