package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// offerSource is the source block of an evaluated offer (DESIGN §5): the
// cart event it was evaluated for.
type offerSource struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	EventID   string `json:"event_id"`
}

// errNoSource is wrapped when an offer has no source block.
var errNoSource = errors.New("bench: offer has no source")

// sourceKey is a consumed record (partition, offset) of the cart events
// topic.
type sourceKey struct {
	Partition int32
	Offset    int64
}

// sourceMarker begins the last field of an offer, which cartstream always
// renders last (DESIGN §5 lists the fields in order).
var sourceMarker = []byte(`"source":`)

// parseOfferSource reads an offer's source without decoding the rest of
// the offer (lines, promotions and hints cost far more to decode, and the
// harness shares the machine with what it measures). It looks for the
// last "source": key and decodes the object after it.
func parseOfferSource(offer []byte) (offerSource, error) {
	i := bytes.LastIndex(offer, sourceMarker)
	if i < 0 {
		return offerSource{}, errNoSource
	}
	var src *offerSource
	if err := json.NewDecoder(bytes.NewReader(offer[i+len(sourceMarker):])).Decode(&src); err != nil {
		return offerSource{}, fmt.Errorf("bench: offer source: %w", err)
	}
	if src == nil {
		return offerSource{}, errNoSource
	}
	return *src, nil
}
