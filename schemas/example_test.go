package schemas_test

import (
	"fmt"
	"time"

	"cartstream/schemas"
)

func ExampleMarshal() {
	p := schemas.Product{
		SKU: "SKU-1", Name: "Coffee", Category: "coffee", Brand: "Acme",
		PriceMinor: 1999, Currency: "USD", Active: true,
		EventTime: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Source:    schemas.Source{Topic: "shop.public.products", Partition: 0, Offset: 42},
	}
	data, err := schemas.Marshal(&p)
	if err != nil {
		panic(err)
	}
	fp, _ := schemas.Fingerprint(data)
	fmt.Printf("marker % x, fingerprint %016x, %d bytes\n", data[:2], fp, len(data))

	var back schemas.Product
	if err := schemas.Unmarshal(data, &back); err != nil {
		panic(err)
	}
	fmt.Println(back.SKU, back.PriceMinor, back.Currency, back.EventTime.Format(time.RFC3339))
	// Output:
	// marker c3 01, fingerprint 36a383648cc2c84d, 71 bytes
	// SKU-1 1999 USD 2026-11-21T10:00:00Z
}

func ExampleCodec() {
	// A goka.Codec: goka.Input(topic, schemas.Codec[schemas.ReservationCommand]{}, cb).
	var c schemas.Codec[schemas.ReservationCommand]
	data, err := c.Encode(schemas.ReservationCommand{
		CommandID: "co-1:SKU-1:reserve", RequestID: "co-1:SKU-1", Op: schemas.OpReserve,
		SKU: "SKU-1", Qty: 2, CartID: "c-9", CheckoutID: "co-1",
	})
	if err != nil {
		panic(err)
	}
	v, err := c.Decode(data)
	if err != nil {
		panic(err)
	}
	cmd := v.(*schemas.ReservationCommand)
	fmt.Println(cmd.CommandID, cmd.Op, cmd.Qty)
	// Output:
	// co-1:SKU-1:reserve reserve 2
}
