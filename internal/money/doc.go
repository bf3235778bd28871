// Package money owns cartstream's arithmetic on money (DESIGN §2, principle
// 5): amounts as int64 minor units of an ISO 4217 currency, exact conversion
// from decimal text and from Debezium decimals, formatting back to decimal
// strings, rounding with an explicit mode, and largest-remainder allocation.
//
// Every operation is exact or fails: a decimal that does not convert to a
// whole number of minor units is an error ([ErrInexact]), never silently
// rounded; a result outside int64 is an error ([ErrOverflow]), never wrapped.
// Rounding happens only where a caller asks for it ([MulDivRound]) and only
// once, in integer arithmetic.
//
// This package must never use floating point for money, read a clock, do I/O,
// or know about promotions, carts or Kafka. It holds no mutable package-level
// state: the ISO 4217 table is built once and only read.
package money

import "errors"

// Sentinel errors. Functions return them wrapped with context; test with
// errors.Is.
var (
	// ErrSyntax: the text is not a decimal of the accepted form (see Parse).
	ErrSyntax = errors.New("invalid decimal syntax")
	// ErrInexact: the value has more significant fraction digits than the
	// currency's exponent, so it is not a whole number of minor units.
	ErrInexact = errors.New("not a whole number of minor units")
	// ErrOverflow: the result does not fit an int64.
	ErrOverflow = errors.New("overflows int64")
	// ErrDivisionByZero: a zero denominator.
	ErrDivisionByZero = errors.New("division by zero")
	// ErrNegative: an input that must not be negative is.
	ErrNegative = errors.New("negative input")
	// ErrZeroWeight: a positive total cannot be allocated over weights that
	// sum to zero.
	ErrZeroWeight = errors.New("positive total over zero total weight")
	// ErrMismatchedLengths: two slices that must be parallel are not.
	ErrMismatchedLengths = errors.New("mismatched slice lengths")
	// ErrUnknownRounding: a rounding mode name that ParseRounding does not
	// know.
	ErrUnknownRounding = errors.New("unknown rounding mode")
)
