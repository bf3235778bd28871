// Package kafkasec turns cartstream's Kafka security settings (TLS and SASL,
// the --kafka-tls* and --kafka-sasl-* flags) into the settings of both Kafka
// clients the process uses: franz-go options for every kgo.Client and the
// Net section of every sarama configuration goka builds.
//
// It owns reading the certificate, key and password files and choosing the
// SASL mechanism. Every franz-go client cartstream creates is built by
// Cluster.NewClient, so none can be created without the security settings
// (TestNoClientBypassesCluster checks the tree); goka's clients get theirs
// from streams.Factory, which applies Security.ApplySarama to every sarama
// configuration it makes.
//
// It must never log, print or put into an error message a password: Config
// and Security format themselves with the password redacted.
package kafkasec

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Mechanism is a SASL mechanism, named as Kafka names it.
type Mechanism string

// The SASL mechanisms cartstream speaks.
const (
	// None: connections do not authenticate.
	None Mechanism = ""
	// Plain is SASL/PLAIN: the password crosses the wire as is, so use it
	// only over TLS.
	Plain Mechanism = "PLAIN"
	// ScramSHA256 is SASL/SCRAM-SHA-256 (RFC 5802, 7677): the password
	// never crosses the wire.
	ScramSHA256 Mechanism = "SCRAM-SHA-256"
	// ScramSHA512 is SASL/SCRAM-SHA-512.
	ScramSHA512 Mechanism = "SCRAM-SHA-512"
)

// Mechanisms lists the mechanisms ParseMechanism accepts, in flag-help order.
var Mechanisms = []Mechanism{Plain, ScramSHA256, ScramSHA512}

// ParseMechanism accepts a mechanism name in any case; "" is None.
func ParseMechanism(s string) (Mechanism, error) {
	if s == "" {
		return None, nil
	}
	for _, m := range Mechanisms {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	return None, fmt.Errorf("%w %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrUnknownMechanism, s)
}

// ErrUnknownMechanism is returned for a SASL mechanism cartstream does not
// speak.
var ErrUnknownMechanism = errors.New("unknown SASL mechanism")

// Redacted is what Config and Security print in place of a password.
const Redacted = "[redacted]"

// Config is the security settings as the operator gives them: flag values,
// file names. The zero value is plaintext without authentication. Load turns
// it into a Security.
//
// Its String and LogValue never show SASLPassword, so a Config may be
// logged; its fields must not be logged one by one.
type Config struct {
	// TLS encrypts every connection to the brokers and checks their
	// certificates against TLSCA (default: the system's roots).
	TLS bool
	// TLSCA is a PEM file of the certificate authorities trusted to sign
	// broker certificates; "" trusts the system's roots. Requires TLS.
	TLSCA string
	// TLSCert and TLSKey are a PEM client certificate and its key, for
	// brokers that authenticate clients by certificate (ssl.client.auth).
	// Both or neither; they require TLS.
	TLSCert, TLSKey string
	// TLSInsecureSkipVerify accepts any broker certificate. For tests
	// only: it makes TLS open to a man in the middle.
	TLSInsecureSkipVerify bool

	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; "" turns
	// SASL off.
	SASLMechanism string
	// SASLUsername is the user to authenticate as; required with a
	// mechanism.
	SASLUsername string
	// SASLPassword is the user's password. Secret: prefer
	// SASLPasswordFile or the CARTSTREAM_KAFKA_SASL_PASSWORD variable to a
	// command-line flag, which other users of the machine can read.
	SASLPassword string
	// SASLPasswordFile is a file holding the password (surrounding white
	// space, such as the final newline, is ignored). Exclusive with
	// SASLPassword.
	SASLPasswordFile string
}

// Enabled reports whether any security setting is on.
func (c Config) Enabled() bool { return c.TLS || c.SASLMechanism != "" }

// Validate checks the settings without reading any file: combinations that
// cannot work are errors naming the flags involved.
func (c Config) Validate() error {
	if !c.TLS {
		var set []string
		if c.TLSCA != "" {
			set = append(set, "--kafka-tls-ca")
		}
		if c.TLSCert != "" {
			set = append(set, "--kafka-tls-cert")
		}
		if c.TLSKey != "" {
			set = append(set, "--kafka-tls-key")
		}
		if c.TLSInsecureSkipVerify {
			set = append(set, "--kafka-tls-insecure-skip-verify")
		}
		if len(set) > 0 {
			return fmt.Errorf("kafkasec: %s given without --kafka-tls", strings.Join(set, ", "))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("kafkasec: --kafka-tls-cert and --kafka-tls-key go together")
	}
	mech, err := ParseMechanism(c.SASLMechanism)
	if err != nil {
		return fmt.Errorf("kafkasec: --kafka-sasl-mechanism: %w", err)
	}
	if mech == None {
		if c.SASLUsername != "" || c.SASLPassword != "" || c.SASLPasswordFile != "" {
			return errors.New("kafkasec: --kafka-sasl-username and password given without --kafka-sasl-mechanism")
		}
		return nil
	}
	if c.SASLUsername == "" {
		return fmt.Errorf("kafkasec: --kafka-sasl-mechanism %s needs --kafka-sasl-username", mech)
	}
	if c.SASLPassword != "" && c.SASLPasswordFile != "" {
		return errors.New("kafkasec: --kafka-sasl-password and --kafka-sasl-password-file are exclusive")
	}
	if c.SASLPassword == "" && c.SASLPasswordFile == "" {
		return fmt.Errorf("kafkasec: --kafka-sasl-mechanism %s needs a password: --kafka-sasl-password-file or CARTSTREAM_KAFKA_SASL_PASSWORD", mech)
	}
	return nil
}

// String describes the settings with the password redacted.
func (c Config) String() string {
	pw := ""
	if c.SASLPassword != "" {
		pw = Redacted
	}
	return fmt.Sprintf("kafkasec.Config{TLS:%t TLSCA:%q TLSCert:%q TLSKey:%q TLSInsecureSkipVerify:%t SASLMechanism:%q SASLUsername:%q SASLPassword:%q SASLPasswordFile:%q}",
		c.TLS, c.TLSCA, c.TLSCert, c.TLSKey, c.TLSInsecureSkipVerify, c.SASLMechanism, c.SASLUsername, pw, c.SASLPasswordFile)
}

// Format prints String for every verb (%v, %+v, %#v, %d, ...), so no
// verb prints the password field.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs the settings with the password redacted.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Bool("tls", c.TLS),
		slog.String("tls_ca", c.TLSCA),
		slog.String("tls_cert", c.TLSCert),
		slog.Bool("tls_insecure_skip_verify", c.TLSInsecureSkipVerify),
		slog.String("sasl_mechanism", c.SASLMechanism),
		slog.String("sasl_username", c.SASLUsername),
	}
	if c.SASLPassword != "" {
		attrs = append(attrs, slog.String("sasl_password", Redacted))
	}
	if c.SASLPasswordFile != "" {
		attrs = append(attrs, slog.String("sasl_password_file", c.SASLPasswordFile))
	}
	return slog.GroupValue(attrs...)
}

// Load validates the settings and reads the files they name. A nil
// *Security (returned for the zero Config) means plaintext without
// authentication and is valid wherever a *Security is taken.
func (c Config) Load() (*Security, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, nil
	}
	s := &Security{}
	if c.TLS {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	s.mechanism, _ = ParseMechanism(c.SASLMechanism)
	if s.mechanism != None {
		s.user = c.SASLUsername
		s.password = c.SASLPassword
		if c.SASLPasswordFile != "" {
			b, err := os.ReadFile(c.SASLPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("kafkasec: --kafka-sasl-password-file: %w", err)
			}
			s.password = strings.TrimSpace(string(b))
			if s.password == "" {
				return nil, fmt.Errorf("kafkasec: --kafka-sasl-password-file %s is empty", c.SASLPasswordFile)
			}
		}
	}
	return s, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVerify} //nolint:gosec // opt-in, for tests, documented as such
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("kafkasec: --kafka-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafkasec: --kafka-tls-ca %s: no PEM certificate in it", c.TLSCA)
		}
		tc.RootCAs = pool
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("kafkasec: --kafka-tls-cert/--kafka-tls-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Security is loaded security settings, ready to configure clients. A nil
// *Security is plaintext without authentication. It is immutable and safe
// for concurrent use; it formats itself without the password.
type Security struct {
	tls       *tls.Config // nil: plaintext
	mechanism Mechanism
	user      string
	password  string
}

// TLS reports whether connections are encrypted.
func (s *Security) TLS() bool { return s != nil && s.tls != nil }

// Mechanism is the SASL mechanism, None without SASL.
func (s *Security) Mechanism() Mechanism {
	if s == nil {
		return None
	}
	return s.mechanism
}

// User is the SASL user, "" without SASL.
func (s *Security) User() string {
	if s == nil {
		return ""
	}
	return s.user
}

// TLSConfig returns a copy of the client TLS configuration, nil without
// TLS.
func (s *Security) TLSConfig() *tls.Config {
	if !s.TLS() {
		return nil
	}
	return s.tls.Clone()
}

// String describes the security without the password, for logs:
// "plaintext", "TLS", "SASL_PLAINTEXT SCRAM-SHA-256 as cartstream", ...
// (Kafka's security.protocol names).
func (s *Security) String() string {
	switch {
	case s.Mechanism() == None && !s.TLS():
		return "PLAINTEXT"
	case s.Mechanism() == None:
		return "SSL"
	case s.TLS():
		return fmt.Sprintf("SASL_SSL %s as %s", s.mechanism, s.user)
	default:
		return fmt.Sprintf("SASL_PLAINTEXT %s as %s", s.mechanism, s.user)
	}
}

// LogValue logs String.
func (s *Security) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format prints String for every verb, so neither the password nor the
// client key in the TLS configuration is ever printed. (fmt prints a nil
// *Security as <nil>.)
func (s Security) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// ClientOpts returns the franz-go options that make a client speak this
// security: kgo.DialTLSConfig and kgo.SASL. Nil for a nil Security.
func (s *Security) ClientOpts() []kgo.Opt {
	var opts []kgo.Opt
	if s.TLS() {
		opts = append(opts, kgo.DialTLSConfig(s.tls.Clone()))
	}
	if m := s.saslMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

// saslMechanism is franz-go's implementation of the mechanism; sarama's
// SCRAM client wraps the same code (see scramClient).
func (s *Security) saslMechanism() sasl.Mechanism {
	switch s.Mechanism() {
	case Plain:
		return plain.Auth{User: s.user, Pass: s.password}.AsMechanism()
	case ScramSHA256:
		return scram.Auth{User: s.user, Pass: s.password}.AsSha256Mechanism()
	case ScramSHA512:
		return scram.Auth{User: s.user, Pass: s.password}.AsSha512Mechanism()
	}
	return nil
}

// Refused reports whether err says the brokers refused this client's
// security settings, so retrying with the same settings cannot succeed:
// SASL authentication failed or the mechanism is not enabled, or the
// broker's certificate is not trusted or does not name the address dialed.
// Network failures and a broker that is not up yet are not refusals.
func Refused(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.UnsupportedSaslMechanism) || errors.Is(err, kerr.IllegalSaslState) {
		return true
	}
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid)
}
