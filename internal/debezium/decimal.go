package debezium

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// MaxDecimalScale bounds the scale (digits after the point, or zeros before
// it for a negative scale) a decoded Decimal may have. PostgreSQL's numeric
// allows at most 16383 digits after the point; anything beyond that is not a
// database value but hostile or corrupt input, and rendering it could take
// unbounded memory.
const MaxDecimalScale = 16383

// maxDecimalText bounds the length of decimal text ParseDecimal accepts
// (PostgreSQL numeric: 131072 digits before the point plus 16383 after).
const maxDecimalText = 1 << 18

var errDecimalSyntax = errors.New("not a decimal number")

// Decimal is an exact decimal number: Unscaled × 10^-Scale. It never passes
// through float64. The scale is kept as Debezium sent it, so 10.0000 (scale 4)
// and 10 (scale 0) are different values for String but equal numbers.
//
// The zero value is 0 (a nil Unscaled reads as zero).
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// String renders the decimal exactly, keeping its scale: "19.99", "10.0000",
// "-0.5", "0.00". A negative scale is written out with zeros ("1200" for
// 12 scale -2). It never uses exponent notation.
func (d Decimal) String() string {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	digits := new(big.Int).Abs(u).String()
	neg := u.Sign() < 0
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case d.Scale <= 0:
		b.WriteString(digits)
		if u.Sign() != 0 {
			b.WriteString(strings.Repeat("0", int(-d.Scale)))
		}
	default:
		scale := int(d.Scale)
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		b.WriteString(digits[:len(digits)-scale])
		b.WriteByte('.')
		b.WriteString(digits[len(digits)-scale:])
	}
	return b.String()
}

// MarshalJSON renders the decimal as a JSON string holding String(), so no
// JSON reader turns it into a float.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}

// Rescale returns the same number with the given scale. It succeeds only when
// no digit is lost (10.50 → scale 1 gives 10.5; 10.55 → scale 1 fails), so
// money conversion can demand exactness.
func (d Decimal) Rescale(scale int32) (Decimal, error) {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	if scale < -MaxDecimalScale || scale > MaxDecimalScale {
		return Decimal{}, fmt.Errorf("debezium: rescale %s to %d: scale out of range", d, scale)
	}
	switch diff := int64(scale) - int64(d.Scale); {
	case diff == 0:
		return Decimal{Unscaled: new(big.Int).Set(u), Scale: scale}, nil
	case diff > 0:
		return Decimal{Unscaled: new(big.Int).Mul(u, pow10(diff)), Scale: scale}, nil
	default:
		q, r := new(big.Int).QuoRem(u, pow10(-diff), new(big.Int))
		if r.Sign() != 0 {
			return Decimal{}, fmt.Errorf("debezium: rescale %s to scale %d would lose digits", d, scale)
		}
		return Decimal{Unscaled: q, Scale: scale}, nil
	}
}

// ParseDecimal reads decimal text exactly: an optional sign, digits with an
// optional point, and an optional exponent ("19.99", "-0.5", ".5", "1.5E+3").
// The scale is the number of digits after the point, less the exponent, and
// never below zero ("1.5E+3" is 1500, scale 0). NaN and infinities are
// rejected: they are not decimals.
func ParseDecimal(s string) (Decimal, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return Decimal{}, fmt.Errorf("debezium: parse decimal %q: %w", truncate(s, 64), err)
	}
	return d, nil
}

func parseDecimal(s string) (Decimal, error) {
	if len(s) > maxDecimalText {
		return Decimal{}, errors.New("too long")
	}
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var digits strings.Builder
	intDigits, fracDigits := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits.WriteByte(s[i])
		intDigits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits.WriteByte(s[i])
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return Decimal{}, errDecimalSyntax
	}
	exp := int64(0)
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || len(s)-start > 8 {
			return Decimal{}, errDecimalSyntax
		}
		e, err := strconv.ParseInt(s[start:], 10, 32)
		if err != nil {
			return Decimal{}, errDecimalSyntax
		}
		exp = e
		i = len(s)
	}
	if i != len(s) {
		return Decimal{}, errDecimalSyntax
	}
	u, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return Decimal{}, errDecimalSyntax
	}
	if neg {
		u.Neg(u)
	}
	scale := int64(fracDigits) - exp
	if scale < -MaxDecimalScale || scale > MaxDecimalScale {
		return Decimal{}, errors.New("exponent out of range")
	}
	if scale < 0 {
		u.Mul(u, pow10(-scale))
		scale = 0
	}
	return Decimal{Unscaled: u, Scale: int32(scale)}, nil
}

// DecimalFromFloat returns the decimal whose text is the shortest that reads
// back as f — what Debezium's decimal.handling.mode=double (Jackson) wrote —
// without any float arithmetic: 19.99 gives "19.99", never
// 19.989999999999998. NaN and infinities are an error.
func DecimalFromFloat(f float64) (Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, fmt.Errorf("debezium: %v is not a decimal", f)
	}
	return ParseDecimal(strconv.FormatFloat(f, 'g', -1, 64))
}

// decimalFromBytes reads Kafka Connect's Decimal encoding: the unscaled
// value as big-endian two's-complement bytes (BigInteger.toByteArray()).
func decimalFromBytes(b []byte, scale int32) (Decimal, error) {
	if scale < -MaxDecimalScale || scale > MaxDecimalScale {
		return Decimal{}, fmt.Errorf("scale %d out of range", scale)
	}
	u := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return Decimal{Unscaled: u, Scale: scale}, nil
}

// decimalFromRat turns goavro's *big.Rat back into an exact decimal of the
// schema's scale.
func decimalFromRat(r *big.Rat, scale int32) (Decimal, error) {
	if scale < 0 || scale > MaxDecimalScale {
		return Decimal{}, fmt.Errorf("scale %d out of range", scale)
	}
	n := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(int64(scale))))
	if !n.IsInt() {
		return Decimal{}, fmt.Errorf("%s does not fit scale %d", r.RatString(), scale)
	}
	return Decimal{Unscaled: new(big.Int).Set(n.Num()), Scale: scale}, nil
}

func pow10(n int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// Date is a calendar date without a time zone (Debezium's io.debezium.time.Date
// and Kafka Connect's Date: days since 1970-01-01).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateFromDays returns the date the given number of days after 1970-01-01.
func DateFromDays(days int64) Date {
	t := time.Unix(days*86400, 0).UTC()
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// String renders the date as YYYY-MM-DD.
func (d Date) String() string {
	if d.Year < 0 {
		return fmt.Sprintf("-%04d-%02d-%02d", -d.Year, int(d.Month), d.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// MarshalJSON renders the date as a JSON string "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}

// TimeOfDay is a time past midnight without a date or zone (Debezium's
// io.debezium.time.Time, MicroTime, NanoTime; Kafka Connect's Time). PostgreSQL
// allows 24:00:00, so it may reach 24 hours.
type TimeOfDay time.Duration

// String renders the time as HH:MM:SS with the fraction's significant
// digits, if any: "13:37:03", "13:37:03.5", "24:00:00".
func (t TimeOfDay) String() string {
	n := int64(t)
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	h := n / int64(time.Hour)
	n -= h * int64(time.Hour)
	m := n / int64(time.Minute)
	n -= m * int64(time.Minute)
	s := n / int64(time.Second)
	n -= s * int64(time.Second)
	out := fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, s)
	if n > 0 {
		out += strings.TrimRight(fmt.Sprintf(".%09d", n), "0")
	}
	return out
}

// MarshalJSON renders the time as a JSON string (see String).
func (t TimeOfDay) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(t.String())), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
