package promo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"cartstream/internal/money"
	"cartstream/internal/normalize"
	"cartstream/schemas"
)

// MaxLineQty is the largest quantity ParseCart accepts on a line: the
// int32 range of a cart event's qty.
const MaxLineQty = math.MaxInt32

// ParseCart decodes the cart JSON of `cartstream evaluate` and of
// POST /v1/evaluate:
//
//	{"cart_id":"c-9","currency":"USD","customer_id":null,"segments":[],
//	 "coupons":["Save10"],"lines":[{"sku":"SKU-1","qty":2}]}
//
// cart_id and currency (an ISO 4217 code) are required; customer_id may be a
// string or null; segments and coupons are lists of strings and may be
// absent or null; lines is a list (absent or null: none) of objects with a
// non-empty sku and a whole qty in [1, MaxLineQty]. Unknown fields are
// ignored, as in cart events, so a cart state body can be passed as it is.
// Errors wrap ErrInvalidCart and name the field; malformed JSON also wraps
// the *json.SyntaxError, whose Offset locates it.
func ParseCart(data []byte) (Cart, error) {
	var c Cart
	obj, err := decodeObject(data)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidCart, err)
	}
	if c.CartID, err = cartString(obj, "cart_id", true); err != nil {
		return c, err
	}
	if c.Currency, err = cartString(obj, "currency", true); err != nil {
		return c, err
	}
	if _, err := money.Lookup(c.Currency); err != nil {
		return c, fmt.Errorf("%w: currency: %q is not an ISO 4217 code with a minor unit", ErrInvalidCart, c.Currency)
	}
	if c.CustomerID, err = cartString(obj, "customer_id", false); err != nil {
		return c, err
	}
	if c.Segments, err = cartStrings(obj, "segments"); err != nil {
		return c, err
	}
	if c.Coupons, err = cartStrings(obj, "coupons"); err != nil {
		return c, err
	}
	raw, ok := obj["lines"]
	if !ok || raw == nil {
		return c, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return c, fmt.Errorf("%w: lines: want a list, got %s", ErrInvalidCart, jsonType(raw))
	}
	c.Lines = make([]CartLine, 0, len(list))
	for i, item := range list {
		field := "lines[" + strconv.Itoa(i) + "]"
		lo, ok := item.(map[string]any)
		if !ok {
			return c, fmt.Errorf("%w: %s: want an object, got %s", ErrInvalidCart, field, jsonType(item))
		}
		sku, ok := lo["sku"].(string)
		switch {
		case lo["sku"] == nil:
			return c, fmt.Errorf("%w: %s.sku: required", ErrInvalidCart, field)
		case !ok:
			return c, fmt.Errorf("%w: %s.sku: want a string, got %s", ErrInvalidCart, field, jsonType(lo["sku"]))
		case strings.TrimSpace(sku) == "":
			return c, fmt.Errorf("%w: %s.sku: empty", ErrInvalidCart, field)
		}
		qv, ok := lo["qty"]
		if !ok || qv == nil {
			return c, fmt.Errorf("%w: %s.qty: required", ErrInvalidCart, field)
		}
		num, ok := qv.(json.Number)
		if !ok {
			return c, fmt.Errorf("%w: %s.qty: want a whole number, got %s", ErrInvalidCart, field, jsonType(qv))
		}
		q, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || q < 1 || q > MaxLineQty {
			return c, fmt.Errorf("%w: %s.qty: want a whole number in [1, %d], got %s", ErrInvalidCart, field, MaxLineQty, num)
		}
		c.Lines = append(c.Lines, CartLine{SKU: sku, Qty: q})
	}
	return c, nil
}

// ParseProduct decodes one JSON line of normalized products (DESIGN §5) and
// validates it with normalize.Product. Errors wrap normalize.ErrInvalid and
// read "<field>: <problem>".
func ParseProduct(line []byte) (schemas.Product, error) {
	obj, err := decodeObject(line)
	if err != nil {
		return schemas.Product{}, &cleanError{msg: err.Error(), err: errors.Join(normalize.ErrInvalid, err)}
	}
	p, err := normalize.Product(obj)
	if err != nil {
		return p, plainInvalid(err)
	}
	return p, nil
}

// ParsePromotion decodes one JSON line of normalized promotions (DESIGN §5)
// and validates it with normalize.Promotion. Errors wrap normalize.ErrInvalid
// and read "<field>: <problem>", e.g. `effect.type: unknown effect "bogo"`.
func ParsePromotion(line []byte) (schemas.Promotion, error) {
	obj, err := decodeObject(line)
	if err != nil {
		return schemas.Promotion{}, &cleanError{msg: err.Error(), err: errors.Join(normalize.ErrInvalid, err)}
	}
	p, err := normalize.Promotion(obj)
	if err != nil {
		return p, plainInvalid(err)
	}
	return p, nil
}

// invalidText is how normalize.ErrInvalid reads inside a message.
var invalidText = normalize.ErrInvalid.Error() + ": "

// cleanError keeps a wrapped error for errors.Is but reads without the
// sentinel's text, which says nothing a line-numbered message does not.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

func plainInvalid(err error) error {
	return &cleanError{msg: strings.ReplaceAll(err.Error(), invalidText, ""), err: err}
}

// decodeObject decodes exactly one JSON object with numbers kept exact.
// Malformed JSON is a *jsonError, which wraps a *json.SyntaxError locating
// the problem.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return nil, &jsonError{msg: "empty input", syn: &json.SyntaxError{Offset: 0}}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &jsonError{msg: "unexpected end of input", syn: &json.SyntaxError{Offset: int64(len(data))}}
		case errors.As(err, &syn):
			return nil, &jsonError{msg: syn.Error(), syn: syn}
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %s", jsonType(v))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &jsonError{msg: "unexpected data after the object", syn: &json.SyntaxError{Offset: dec.InputOffset()}}
	}
	return obj, nil
}

// jsonError is malformed JSON input.
type jsonError struct {
	msg string
	syn *json.SyntaxError
}

func (e *jsonError) Error() string { return "invalid JSON: " + e.msg }
func (e *jsonError) Unwrap() error { return e.syn }

func cartString(o map[string]any, name string, required bool) (string, error) {
	v, ok := o[name]
	if !ok || v == nil {
		if required {
			return "", fmt.Errorf("%w: %s: required", ErrInvalidCart, name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s: want a string, got %s", ErrInvalidCart, name, jsonType(v))
	}
	if required && strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%w: %s: empty", ErrInvalidCart, name)
	}
	return s, nil
}

func cartStrings(o map[string]any, name string) ([]string, error) {
	v, ok := o[name]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s: want a list of strings, got %s", ErrInvalidCart, name, jsonType(v))
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s[%d]: want a string, got %s", ErrInvalidCart, name, i, jsonType(item))
		}
		out = append(out, s)
	}
	return out, nil
}

// jsonType names a decoded JSON value's type as JSON does.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
