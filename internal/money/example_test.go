package money_test

import (
	"fmt"

	"cartstream/internal/money"
)

func ExampleParse() {
	usd, _ := money.Lookup("USD")
	a, err := money.Parse("19.990", usd)
	fmt.Println(a, err)
	_, err = money.Parse("19.995", usd)
	fmt.Println(err)
	// Output:
	// 1999 <nil>
	// money: parse "19.995" as USD: not a whole number of minor units
}

func ExampleAmount_Format() {
	for _, code := range []string{"USD", "JPY", "BHD"} {
		c, _ := money.Lookup(code)
		fmt.Println(code, money.Amount(1250).Format(c), money.Amount(-5).Format(c))
	}
	// Output:
	// USD 12.50 -0.05
	// JPY 1250 -5
	// BHD 1.250 -0.005
}

func ExampleMulDivRound() {
	// 15% (1500 basis points) of 0.30 is 4.5 cents: a tie.
	for _, r := range []money.Rounding{money.HalfEven, money.HalfUp, money.HalfDown} {
		v, _ := money.MulDivRound(30, 1500, 10_000, r)
		fmt.Println(r, v)
	}
	// Output:
	// half_even 4
	// half_up 5
	// half_down 4
}

func ExampleAllocate() {
	// Spread a 5.00 discount over lines of 19.99, 9.99 and 0.02 in
	// proportion to their amounts; the parts sum to exactly 500 cents.
	parts, _ := money.Allocate(500, []int64{1999, 999, 2}, []string{"SKU-A", "SKU-B", "SKU-C"})
	fmt.Println(parts)
	// Output:
	// [333 167 0]
}
