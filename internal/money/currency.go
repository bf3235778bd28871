package money

import (
	"errors"
	"fmt"
)

// ErrUnknownCurrency is returned, wrapped, for a currency code that is not an
// active ISO 4217 code with a minor unit, and for a Currency whose exponent is
// outside [0, MaxExponent].
var ErrUnknownCurrency = errors.New("unknown currency")

// MaxExponent is the largest exponent (digits after the decimal point) this
// package handles. 10^18 is the largest power of ten that fits an int64; no
// ISO 4217 currency comes near it (the largest minor unit is 4, CLF and UYW).
const MaxExponent = 18

// Currency is an ISO 4217 currency: its alphabetic code and its exponent, the
// number of decimal digits of its minor unit (USD 2: 1 USD = 100 minor units;
// JPY 0; BHD 3).
type Currency struct {
	// Code is the ISO 4217 alphabetic code: three upper-case ASCII letters.
	Code string
	// Exponent is the ISO 4217 minor unit: minor units per major unit are
	// 10^Exponent.
	Exponent int
}

// String returns the currency's code.
func (c Currency) String() string { return c.Code }

// validExponent reports whether c's exponent is one this package handles.
func (c Currency) validExponent() bool {
	return c.Exponent >= 0 && c.Exponent <= MaxExponent
}

// Lookup returns the active ISO 4217 currency with the given alphabetic code.
// Codes are case-sensitive: "usd" is not USD, so that a code in a record is
// either exactly right or rejected. Codes that ISO 4217 lists without a minor
// unit ("N.A.": precious metals XAU, XAG, XPD, XPT, the bond-market units
// XBA–XBD, XDR, XSU, XUA, and the test and no-currency codes XTS, XXX) cannot
// price anything and are rejected too. Every error wraps [ErrUnknownCurrency].
func Lookup(code string) (Currency, error) {
	if !isCodeShape(code) {
		return Currency{}, fmt.Errorf("money: currency %q: not three upper-case letters: %w", code, ErrUnknownCurrency)
	}
	exp, ok := iso4217[code]
	if !ok {
		return Currency{}, fmt.Errorf("money: currency %q: %w", code, ErrUnknownCurrency)
	}
	return Currency{Code: code, Exponent: int(exp)}, nil
}

// MustLookup is Lookup for codes known at compile time (tests, defaults); it
// panics on an unknown code.
func MustLookup(code string) Currency {
	c, err := Lookup(code)
	if err != nil {
		panic(err)
	}
	return c
}

// Codes returns the codes Lookup accepts, in no particular order. The slice is
// the caller's.
func Codes() []string {
	out := make([]string, 0, len(iso4217))
	for code := range iso4217 {
		out = append(out, code)
	}
	return out
}

func isCodeShape(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// iso4217 maps every active ISO 4217 alphabetic code that has a minor unit to
// that minor unit (the exponent). It follows ISO 4217 List One as amended up to
// the introduction of XCG (Caribbean guilder) and ZWG (Zimbabwe Gold). Codes
// in a published transition (ANG→XCG, SLL→SLE, ZWL→ZWG, BGN→EUR, and the
// parallel VES/VED) are kept so that records written before a switch still
// convert. Withdrawn codes (HRK, MRO, STD, VEF, BYR, LTL, …) are not listed.
//
// It is built once and never written after package initialisation.
var iso4217 = map[string]uint8{
	"AED": 2, // UAE Dirham
	"AFN": 2, // Afghani
	"ALL": 2, // Lek
	"AMD": 2, // Armenian Dram
	"ANG": 2, // Netherlands Antillean Guilder (in transition to XCG)
	"AOA": 2, // Kwanza
	"ARS": 2, // Argentine Peso
	"AUD": 2, // Australian Dollar
	"AWG": 2, // Aruban Florin
	"AZN": 2, // Azerbaijan Manat
	"BAM": 2, // Convertible Mark
	"BBD": 2, // Barbados Dollar
	"BDT": 2, // Taka
	"BGN": 2, // Bulgarian Lev (in transition to EUR)
	"BHD": 3, // Bahraini Dinar
	"BIF": 0, // Burundi Franc
	"BMD": 2, // Bermudian Dollar
	"BND": 2, // Brunei Dollar
	"BOB": 2, // Boliviano
	"BOV": 2, // Mvdol (fund)
	"BRL": 2, // Brazilian Real
	"BSD": 2, // Bahamian Dollar
	"BTN": 2, // Ngultrum
	"BWP": 2, // Pula
	"BYN": 2, // Belarusian Ruble
	"BZD": 2, // Belize Dollar
	"CAD": 2, // Canadian Dollar
	"CDF": 2, // Congolese Franc
	"CHE": 2, // WIR Euro (complementary currency)
	"CHF": 2, // Swiss Franc
	"CHW": 2, // WIR Franc (complementary currency)
	"CLF": 4, // Unidad de Fomento (fund)
	"CLP": 0, // Chilean Peso
	"CNY": 2, // Yuan Renminbi
	"COP": 2, // Colombian Peso
	"COU": 2, // Unidad de Valor Real (fund)
	"CRC": 2, // Costa Rican Colon
	"CUC": 2, // Peso Convertible
	"CUP": 2, // Cuban Peso
	"CVE": 2, // Cabo Verde Escudo
	"CZK": 2, // Czech Koruna
	"DJF": 0, // Djibouti Franc
	"DKK": 2, // Danish Krone
	"DOP": 2, // Dominican Peso
	"DZD": 2, // Algerian Dinar
	"EGP": 2, // Egyptian Pound
	"ERN": 2, // Nakfa
	"ETB": 2, // Ethiopian Birr
	"EUR": 2, // Euro
	"FJD": 2, // Fiji Dollar
	"FKP": 2, // Falkland Islands Pound
	"GBP": 2, // Pound Sterling
	"GEL": 2, // Lari
	"GHS": 2, // Ghana Cedi
	"GIP": 2, // Gibraltar Pound
	"GMD": 2, // Dalasi
	"GNF": 0, // Guinean Franc
	"GTQ": 2, // Quetzal
	"GYD": 2, // Guyana Dollar
	"HKD": 2, // Hong Kong Dollar
	"HNL": 2, // Lempira
	"HTG": 2, // Gourde
	"HUF": 2, // Forint
	"IDR": 2, // Rupiah
	"ILS": 2, // New Israeli Sheqel
	"INR": 2, // Indian Rupee
	"IQD": 3, // Iraqi Dinar
	"IRR": 2, // Iranian Rial
	"ISK": 0, // Iceland Krona
	"JMD": 2, // Jamaican Dollar
	"JOD": 3, // Jordanian Dinar
	"JPY": 0, // Yen
	"KES": 2, // Kenyan Shilling
	"KGS": 2, // Som
	"KHR": 2, // Riel
	"KMF": 0, // Comorian Franc
	"KPW": 2, // North Korean Won
	"KRW": 0, // Won
	"KWD": 3, // Kuwaiti Dinar
	"KYD": 2, // Cayman Islands Dollar
	"KZT": 2, // Tenge
	"LAK": 2, // Lao Kip
	"LBP": 2, // Lebanese Pound
	"LKR": 2, // Sri Lanka Rupee
	"LRD": 2, // Liberian Dollar
	"LSL": 2, // Loti
	"LYD": 3, // Libyan Dinar
	"MAD": 2, // Moroccan Dirham
	"MDL": 2, // Moldovan Leu
	"MGA": 2, // Malagasy Ariary
	"MKD": 2, // Denar
	"MMK": 2, // Kyat
	"MNT": 2, // Tugrik
	"MOP": 2, // Pataca
	"MRU": 2, // Ouguiya
	"MUR": 2, // Mauritius Rupee
	"MVR": 2, // Rufiyaa
	"MWK": 2, // Malawi Kwacha
	"MXN": 2, // Mexican Peso
	"MXV": 2, // Mexican Unidad de Inversion (fund)
	"MYR": 2, // Malaysian Ringgit
	"MZN": 2, // Mozambique Metical
	"NAD": 2, // Namibia Dollar
	"NGN": 2, // Naira
	"NIO": 2, // Cordoba Oro
	"NOK": 2, // Norwegian Krone
	"NPR": 2, // Nepalese Rupee
	"NZD": 2, // New Zealand Dollar
	"OMR": 3, // Rial Omani
	"PAB": 2, // Balboa
	"PEN": 2, // Sol
	"PGK": 2, // Kina
	"PHP": 2, // Philippine Peso
	"PKR": 2, // Pakistan Rupee
	"PLN": 2, // Zloty
	"PYG": 0, // Guarani
	"QAR": 2, // Qatari Rial
	"RON": 2, // Romanian Leu
	"RSD": 2, // Serbian Dinar
	"RUB": 2, // Russian Ruble
	"RWF": 0, // Rwanda Franc
	"SAR": 2, // Saudi Riyal
	"SBD": 2, // Solomon Islands Dollar
	"SCR": 2, // Seychelles Rupee
	"SDG": 2, // Sudanese Pound
	"SEK": 2, // Swedish Krona
	"SGD": 2, // Singapore Dollar
	"SHP": 2, // Saint Helena Pound
	"SLE": 2, // Leone
	"SLL": 2, // Leone (old; in transition to SLE)
	"SOS": 2, // Somali Shilling
	"SRD": 2, // Surinam Dollar
	"SSP": 2, // South Sudanese Pound
	"STN": 2, // Dobra
	"SVC": 2, // El Salvador Colon
	"SYP": 2, // Syrian Pound
	"SZL": 2, // Lilangeni
	"THB": 2, // Baht
	"TJS": 2, // Somoni
	"TMT": 2, // Turkmenistan New Manat
	"TND": 3, // Tunisian Dinar
	"TOP": 2, // Pa'anga
	"TRY": 2, // Turkish Lira
	"TTD": 2, // Trinidad and Tobago Dollar
	"TWD": 2, // New Taiwan Dollar
	"TZS": 2, // Tanzanian Shilling
	"UAH": 2, // Hryvnia
	"UGX": 0, // Uganda Shilling
	"USD": 2, // US Dollar
	"USN": 2, // US Dollar (Next day) (fund)
	"UYI": 0, // Uruguay Peso en Unidades Indexadas (fund)
	"UYU": 2, // Peso Uruguayo
	"UYW": 4, // Unidad Previsional
	"UZS": 2, // Uzbekistan Sum
	"VED": 2, // Bolívar Soberano (digital redenomination)
	"VES": 2, // Bolívar Soberano
	"VND": 0, // Dong
	"VUV": 0, // Vatu
	"WST": 2, // Tala
	"XAF": 0, // CFA Franc BEAC
	"XCD": 2, // East Caribbean Dollar
	"XCG": 2, // Caribbean Guilder
	"XOF": 0, // CFA Franc BCEAO
	"XPF": 0, // CFP Franc
	"YER": 2, // Yemeni Rial
	"ZAR": 2, // Rand
	"ZMW": 2, // Zambian Kwacha
	"ZWG": 2, // Zimbabwe Gold
	"ZWL": 2, // Zimbabwe Dollar (in transition to ZWG)
}
