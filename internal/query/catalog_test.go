package query

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cartstream/internal/promo"
	"cartstream/schemas"
	"cartstream/topology"
)

// catalogNode is one instance whose catalog holds a mug at 10.00 USD, a
// 10 % promotion on it and an offer for cart c-1.
func catalogNode(t *testing.T) *httptest.Server {
	t.Helper()
	mug := schemas.Product{SKU: "MUG", Name: "Mug", Category: "kitchen", Brand: "Acme", PriceMinor: 1000, Currency: "USD", Active: true}
	pr, err := promo.ParsePromotion([]byte(`{"id":"P-10","name":"Ten off mugs","active":true,"priority":5,"stacking":"stackable","coupon_code":null,` +
		`"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{"skus":["MUG"]},` +
		`"effect":{"type":"percent_off","bps":1000},"max_discount":null}`))
	if err != nil {
		t.Fatal(err)
	}
	idx := promo.NewIndex(pr)
	svc := New(Config{
		Topology: topology.New(topology.Config{Partitions: 4}), Self: Member{InstanceID: "a"},
		Router: &fakeRouter{}, Partitions: map[string]int32{topology.SetCarts: 4}, MaxBody: 4096,
		Catalog: &Catalog{
			Products:   func(sku string) (schemas.Product, bool, error) { return mug, sku == "MUG", nil },
			Promotions: idx,
			Offer: func(id string) ([]byte, error) {
				if id == "c-1" {
					return []byte(`{"cart_id":"c-1"}`), nil
				}
				return nil, nil
			},
			Ready: func() bool { return true },
			Now:   func() time.Time { return time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC) },
		},
		Status: nil,
	})
	mux := http.NewServeMux()
	svc.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestCatalogRoutes(t *testing.T) {
	srv := catalogNode(t)
	cart := `{"cart_id":"c-9","currency":"USD","lines":[{"sku":"MUG","qty":2}]}`
	cases := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"product", "GET", "/v1/products/MUG", "", 200, `"price":"10.00"`},
		{"unknown product", "GET", "/v1/products/NOPE", "", 404, `"not_found"`},
		{"promotion", "GET", "/v1/promotions/P-10", "", 200, `"bps":1000`},
		{"unknown promotion", "GET", "/v1/promotions/NOPE", "", 404, `"not_found"`},
		{"offer", "GET", "/v1/offers/c-1", "", 200, `"cart_id":"c-1"`},
		{"no offer", "GET", "/v1/offers/c-2", "", 404, `"not_found"`},
		{"evaluate", "POST", "/v1/evaluate", `{"cart":` + cart + `}`, 200, `"discount_total":"2.00"`},
		{"evaluate with a what-if promotion", "POST", "/v1/evaluate", `{"cart":` + cart + `,"promotions":[` +
			`{"id":"P-10","name":"Half off","active":true,"priority":5,"stacking":"stackable","coupon_code":null,"valid_from":null,"valid_until":null,` +
			`"segments":[],"currency":"USD","condition":{},"target":{},"effect":{"type":"percent_off","bps":5000},"max_discount":null}]}`, 200, `"discount_total":"10.00"`},
		{"evaluate at a given time", "POST", "/v1/evaluate", `{"cart":` + cart + `,"at":"2026-11-21T10:00:00Z"}`, 200, `"total":"18.00"`},
		{"evaluate without a cart", "POST", "/v1/evaluate", `{}`, 400, `"bad_request"`},
		{"evaluate with a bad time", "POST", "/v1/evaluate", `{"cart":` + cart + `,"at":"yesterday"}`, 400, `"bad_request"`},
		{"evaluate with a bad promotion", "POST", "/v1/evaluate", `{"cart":` + cart + `,"promotions":[{"id":"x"}]}`, 400, `promotions[0]`},
		{"evaluate too large", "POST", "/v1/evaluate", `{"cart":` + cart + `,"pad":"` + strings.Repeat("x", 5000) + `"}`, 413, `"bad_request"`},
		{"status not wired", "GET", "/v1/status", "", 503, `"unavailable"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader([]byte(c.body)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.contains) {
				t.Fatalf("%d %s, want %d containing %s", resp.StatusCode, b, c.status, c.contains)
			}
			if !json.Valid(b) {
				t.Errorf("body is not JSON: %s", b)
			}
		})
	}
}
