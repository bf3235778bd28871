package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"cartstream/internal/money"
	"cartstream/internal/promo"
)

// evaluateOptions are the settings of `cartstream evaluate`.
type evaluateOptions struct {
	products   string
	promotions string
	cart       string
	at         string
	rounding   string
}

func newEvaluateCmd() *cobra.Command {
	var opts evaluateOptions
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Evaluate a cart against products and promotions offline and print the offer",
		Long: `Evaluate one cart with the promotion engine the carts group uses and print
the evaluated offer (DESIGN §5) as one line of JSON, with cart_version and
source null. Nothing is read from or written to Kafka: use it to try a
promotion before publishing it.

--products and --promotions are JSON lines files of normalized products and
promotions (schemas/json/product.schema.json, promotion.schema.json); blank
lines are skipped, and an id or sku given twice is an error. --cart is one
JSON object:

  {"cart_id":"c-9","currency":"USD","customer_id":null,"segments":[],
   "coupons":["Save10"],"lines":[{"sku":"SKU-1","qty":2}]}

--at is the event time promotions' validity is judged at (RFC 3339); there is
no default, because cartstream never reads the clock to price a cart.

Bad input exits non-zero with one line naming the file and line, e.g.
  promotions.jsonl:7: effect.type: unknown effect "bogo"

docs/promotions.md explains how an offer is computed, with worked examples.`,
		Example: `  cartstream evaluate --products products.jsonl --promotions promotions.jsonl \
    --cart cart.json --at 2026-11-21T10:00:00Z
  cartstream evaluate --products p.jsonl --promotions q.jsonl --cart c.json --at 2026-11-21T10:00:00+01:00 --rounding half_up`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvaluate(cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.products, "products", "", "JSON lines file of normalized products (required)")
	f.StringVar(&opts.promotions, "promotions", "", "JSON lines file of normalized promotions (required)")
	f.StringVar(&opts.cart, "cart", "", `JSON file of the cart: {"cart_id","currency","customer_id","segments","coupons","lines":[{"sku","qty"}]} (required)`)
	f.StringVar(&opts.at, "at", "", "event time to evaluate at, RFC 3339 (required)")
	f.StringVar(&opts.rounding, "rounding", money.HalfEven.String(), "rounding of percentage discounts: half_even, half_up or half_down")
	for _, name := range []string{"products", "promotions", "cart", "at"} {
		_ = cmd.MarkFlagRequired(name)
	}
	bindConfig(cmd)
	return cmd
}

// runEvaluate reads the inputs, evaluates and writes the offer and a
// newline to out.
func runEvaluate(out io.Writer, opts evaluateOptions) error {
	at, err := time.Parse(time.RFC3339Nano, opts.at)
	if err != nil {
		return fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-11-21T10:00:00Z", opts.at)
	}
	rounding, err := money.ParseRounding(opts.rounding)
	if err != nil {
		return fmt.Errorf("--rounding %q: want half_even, half_up or half_down", opts.rounding)
	}
	catalog := promo.MapCatalog{}
	firstSKU := map[string]int{}
	err = readJSONLines(opts.products, func(line int, text []byte) error {
		p, err := promo.ParseProduct(text)
		if err != nil {
			return err
		}
		if first, dup := firstSKU[p.SKU]; dup {
			return fmt.Errorf("duplicate sku %q (first on line %d)", p.SKU, first)
		}
		firstSKU[p.SKU] = line
		catalog[p.SKU] = p
		return nil
	})
	if err != nil {
		return err
	}
	idx := &promo.Index{}
	firstID := map[string]int{}
	err = readJSONLines(opts.promotions, func(line int, text []byte) error {
		p, err := promo.ParsePromotion(text)
		if err != nil {
			return err
		}
		if first, dup := firstID[p.ID]; dup {
			return fmt.Errorf("duplicate id %q (first on line %d)", p.ID, first)
		}
		firstID[p.ID] = line
		idx.Upsert(p)
		return nil
	})
	if err != nil {
		return err
	}
	cart, err := readCart(opts.cart)
	if err != nil {
		return err
	}
	offer, err := promo.Evaluate(catalog, idx, cart, at, promo.Options{Rounding: rounding})
	if err != nil {
		return fmt.Errorf("%s: %w", opts.cart, err)
	}
	b := offer.AppendJSON(make([]byte, 0, 4096))
	_, err = out.Write(append(b, '\n'))
	return err
}

// readJSONLines calls fn with each non-blank line of the file and its
// 1-based number; an error reads "<path>:<line>: <error>".
func readJSONLines(path string, fn func(line int, text []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		text, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if len(bytes.TrimSpace(text)) > 0 {
			if ferr := fn(n, text); ferr != nil {
				return fmt.Errorf("%s:%d: %w", path, n, ferr)
			}
		}
		if err != nil { // io.EOF after the last line
			return nil
		}
	}
}

// readCart reads the cart file; a JSON syntax error names its line.
func readCart(path string) (promo.Cart, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return promo.Cart{}, err
	}
	cart, err := promo.ParseCart(data)
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
			return cart, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		return cart, fmt.Errorf("%s: %w", path, err)
	}
	return cart, nil
}
