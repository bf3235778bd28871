package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"cartstream/internal/partition"
	"cartstream/internal/promo"
	"cartstream/processors/carts"
	"cartstream/schemas"
	"cartstream/topology"
)

// Catalog is what the catalog routes read: replicated views every instance
// holds whole (products, promotions, latest offers), so they are answered
// locally without forwarding.
type Catalog struct {
	// Products returns a product by sku; false when unknown.
	Products func(sku string) (schemas.Product, bool, error)
	// Promotions is the live promotion index.
	Promotions *promo.Index
	// Offer returns the latest offer JSON of a cart; nil when none.
	Offer func(cartID string) ([]byte, error)
	// Ready reports whether the views have recovered.
	Ready func() bool
	// Options of evaluations (rounding).
	Options promo.Options
	// Now is the clock of POST /v1/evaluate without "at" and of
	// ?fresh=1 (queries, not processing: DESIGN's no-wall-clock rule is
	// about state). Default time.Now.
	Now func() time.Time
}

// catalogFunc adapts Products to promo.Catalog.
type catalogFunc func(string) (schemas.Product, bool, error)

func (f catalogFunc) Product(sku string) (schemas.Product, bool) {
	p, ok, err := f(sku)
	return p, ok && err == nil
}

func (s *Service) catalogReady(w http.ResponseWriter) bool {
	c := s.cfg.Catalog
	if c == nil || c.Ready != nil && !c.Ready() {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the catalog views are still recovering")
		return false
	}
	return true
}

func (s *Service) now() time.Time {
	if s.cfg.Catalog != nil && s.cfg.Catalog.Now != nil {
		return s.cfg.Catalog.Now()
	}
	return time.Now()
}

// product serves GET /v1/products/{sku}.
func (s *Service) product(w http.ResponseWriter, r *http.Request) {
	if !s.catalogReady(w) {
		return
	}
	sku := r.PathValue("sku")
	p, ok, err := s.cfg.Catalog.Products(sku)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "products view: "+err.Error())
	case !ok:
		writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no product %q", sku))
	default:
		w.Header().Set(HeaderServedBy, s.cfg.Self.InstanceID)
		writeRaw(w, promo.AppendProductJSON(nil, p))
	}
}

// promotion serves GET /v1/promotions/{id}.
func (s *Service) promotion(w http.ResponseWriter, r *http.Request) {
	if !s.catalogReady(w) {
		return
	}
	id := r.PathValue("id")
	p, ok := s.cfg.Catalog.Promotions.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no promotion %q", id))
		return
	}
	w.Header().Set(HeaderServedBy, s.cfg.Self.InstanceID)
	writeRaw(w, promo.AppendPromotionJSON(nil, p))
}

// offer serves GET /v1/offers/{cart_id}: the latest offer from the offers
// view, or with ?fresh=1 the cart re-evaluated now against the current
// catalog by the cart's owner, with no side effect.
func (s *Service) offer(w http.ResponseWriter, r *http.Request) {
	if !s.catalogReady(w) {
		return
	}
	id := r.PathValue("cart_id")
	if r.URL.Query().Get("fresh") == "1" {
		s.keyed(w, r, topology.GroupCarts, id, s.freshOffer)
		return
	}
	data, err := s.cfg.Catalog.Offer(id)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "offers view: "+err.Error())
		return
	}
	if n := s.cfg.Partitions[topology.SetCarts]; n > 0 {
		w.Header().Set(HeaderPartition, strconv.Itoa(int(partition.For([]byte(id), n))))
	}
	w.Header().Set(HeaderServedBy, s.cfg.Self.InstanceID)
	if data == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no offer for cart %q", id))
		return
	}
	writeRaw(w, data)
}

// freshOffer evaluates a stored cart now.
func (s *Service) freshOffer(_ int32, data []byte) (any, error) {
	c, err := carts.DecodeCart(data)
	if err != nil {
		return nil, err
	}
	pc := promo.Cart{CartID: c.ID, Currency: c.Currency, Segments: c.Segments, Coupons: c.Coupons}
	if c.CustomerID != nil {
		pc.CustomerID = *c.CustomerID
	}
	for _, l := range c.Lines {
		pc.Lines = append(pc.Lines, promo.CartLine{SKU: l.SKU, Qty: int64(l.Qty)})
	}
	o, err := promo.Evaluate(catalogFunc(s.cfg.Catalog.Products), s.cfg.Catalog.Promotions, pc, s.now(), s.cfg.Catalog.Options)
	if err != nil {
		return nil, err
	}
	v := c.Version
	o.CartVersion = &v
	return json.RawMessage(o.AppendJSON(nil)), nil
}

// evaluateRequest is the body of POST /v1/evaluate.
type evaluateRequest struct {
	Cart       json.RawMessage   `json:"cart"`
	Promotions []json.RawMessage `json:"promotions"`
	At         *string           `json:"at"`
}

// evaluate serves POST /v1/evaluate: the same engine and input shapes as
// `cartstream evaluate`, against the live catalog plus the request's
// promotions (which replace live ones with the same id), with no side
// effect.
func (s *Service) evaluate(w http.ResponseWriter, r *http.Request) {
	if !s.catalogReady(w) {
		return
	}
	var req evaluateRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, CodeBadRequest, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, CodeBadRequest, "body: "+err.Error())
		return
	}
	if len(bytes.TrimSpace(req.Cart)) == 0 {
		writeError(w, http.StatusBadRequest, CodeBadRequest, `body: "cart" is required`)
		return
	}
	cart, err := promo.ParseCart(req.Cart)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, "cart: "+err.Error())
		return
	}
	at := s.now()
	if req.At != nil {
		if at, err = time.Parse(time.RFC3339Nano, *req.At); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("at %q: want RFC 3339", *req.At))
			return
		}
	}
	idx := s.cfg.Catalog.Promotions
	if len(req.Promotions) > 0 {
		idx = promo.NewIndex()
		for _, id := range s.cfg.Catalog.Promotions.IDs() {
			if p, ok := s.cfg.Catalog.Promotions.Get(id); ok {
				_ = idx.Upsert(p) // indexed once already
			}
		}
		for i, raw := range req.Promotions {
			p, err := promo.ParsePromotion(raw)
			if err == nil {
				err = idx.Upsert(p)
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("promotions[%d]: %v", i, err))
				return
			}
		}
	}
	o, err := promo.Evaluate(catalogFunc(s.cfg.Catalog.Products), idx, cart, at, s.cfg.Catalog.Options)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	w.Header().Set(HeaderServedBy, s.cfg.Self.InstanceID)
	writeRaw(w, o.AppendJSON(nil))
}

// status serves GET /v1/status.
func (s *Service) status(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Status == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "status not available yet")
		return
	}
	body, err := s.cfg.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
		return
	}
	w.Header().Set(HeaderServedBy, s.cfg.Self.InstanceID)
	writeJSON(w, http.StatusOK, body)
}

// writeRaw writes a JSON document that is already encoded.
func writeRaw(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}
