package kafkasec_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"

	"cartstream/internal/kafkasec"
	"cartstream/internal/kafkasec/kafkasectest"
)

const secret = "hunter2-not-in-logs"

func TestValidateNamesTheFlags(t *testing.T) {
	tests := []struct {
		name string
		cfg  kafkasec.Config
		want string // substring of the error; "" = valid
	}{
		{name: "zero is plaintext", cfg: kafkasec.Config{}},
		{name: "TLS alone", cfg: kafkasec.Config{TLS: true}},
		{name: "CA without TLS", cfg: kafkasec.Config{TLSCA: "ca.pem"}, want: "--kafka-tls-ca given without --kafka-tls"},
		{name: "skip verify without TLS", cfg: kafkasec.Config{TLSInsecureSkipVerify: true}, want: "--kafka-tls-insecure-skip-verify given without --kafka-tls"},
		{name: "cert without key", cfg: kafkasec.Config{TLS: true, TLSCert: "c.pem"}, want: "--kafka-tls-cert and --kafka-tls-key go together"},
		{name: "unknown mechanism", cfg: kafkasec.Config{SASLMechanism: "GSSAPI", SASLUsername: "u", SASLPassword: "p"}, want: `unknown SASL mechanism "GSSAPI"`},
		{name: "mechanism in lower case", cfg: kafkasec.Config{SASLMechanism: "scram-sha-512", SASLUsername: "u", SASLPassword: "p"}},
		{name: "no user", cfg: kafkasec.Config{SASLMechanism: "PLAIN", SASLPassword: "p"}, want: "needs --kafka-sasl-username"},
		{name: "no password", cfg: kafkasec.Config{SASLMechanism: "PLAIN", SASLUsername: "u"}, want: "needs a password"},
		{name: "both passwords", cfg: kafkasec.Config{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPassword: "p", SASLPasswordFile: "f"}, want: "are exclusive"},
		{name: "user without mechanism", cfg: kafkasec.Config{SASLUsername: "u", SASLPassword: "p"}, want: "without --kafka-sasl-mechanism"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadReadsFiles(t *testing.T) {
	dir := t.TempDir()
	pki := kafkasectest.WritePKI(t, dir)
	pwFile := kafkasectest.WriteFile(t, dir, "pw", "  "+secret+"\n")

	sec, err := kafkasec.Config{TLS: true, TLSCA: pki.CA, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey,
		SASLMechanism: "SCRAM-SHA-256", SASLUsername: "cartstream", SASLPasswordFile: pwFile}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !sec.TLS() || sec.Mechanism() != kafkasec.ScramSHA256 || sec.User() != "cartstream" {
		t.Fatalf("loaded %s", sec)
	}
	tc := sec.TLSConfig()
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.MinVersion != tls.VersionTLS12 || tc.InsecureSkipVerify {
		t.Fatalf("TLS config: roots %v, %d certificates, min version %x, skip verify %v", tc.RootCAs != nil, len(tc.Certificates), tc.MinVersion, tc.InsecureSkipVerify)
	}
	c := sarama.NewConfig()
	sec.ApplySarama(c)
	if c.Net.SASL.Password != secret {
		t.Fatalf("password from the file, trimmed: got %d bytes, want %d", len(c.Net.SASL.Password), len(secret))
	}

	var nilSec *kafkasec.Security
	if sec, err := (kafkasec.Config{}).Load(); err != nil || sec != nilSec {
		t.Fatalf("zero Config loads %v, %v; want a nil Security", sec, err)
	}
	if nilSec.ClientOpts() != nil || nilSec.TLSConfig() != nil || nilSec.String() != "PLAINTEXT" {
		t.Fatal("a nil Security must be plaintext without authentication")
	}

	bad := []struct {
		name string
		cfg  kafkasec.Config
		want string
	}{
		{"missing CA", kafkasec.Config{TLS: true, TLSCA: filepath.Join(dir, "nope.pem")}, "--kafka-tls-ca"},
		{"CA not PEM", kafkasec.Config{TLS: true, TLSCA: pwFile}, "no PEM certificate"},
		{"key of another cert", kafkasec.Config{TLS: true, TLSCert: pki.ClientCert, TLSKey: pki.BrokerKey}, "--kafka-tls-cert/--kafka-tls-key"},
		{"missing password file", kafkasec.Config{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPasswordFile: filepath.Join(dir, "nope")}, "--kafka-sasl-password-file"},
		{"empty password file", kafkasec.Config{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPasswordFile: kafkasectest.WriteFile(t, dir, "empty", "\n")}, "is empty"},
	}
	for _, b := range bad {
		if _, err := b.cfg.Load(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: Load() = %v, want an error containing %q", b.name, err, b.want)
		}
	}
}

// TestPasswordIsRedacted formats a Config and a Security every way code
// might log them.
func TestPasswordIsRedacted(t *testing.T) {
	cfg := kafkasec.Config{TLS: true, SASLMechanism: "PLAIN", SASLUsername: "cartstream", SASLPassword: secret}
	sec, err := cfg.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pki := kafkasectest.WritePKI(t, dir)
	withKey, err := kafkasec.Config{TLS: true, TLSCert: pki.ClientCert, TLSKey: pki.ClientKey,
		SASLMechanism: "PLAIN", SASLUsername: "cartstream", SASLPassword: secret}.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, v := range []any{cfg, &cfg, sec, *sec, withKey, *withKey, struct{ S kafkasec.Security }{*sec}} {
		fmt.Fprintf(&out, "%v %+v %#v %s %d %x %q\n", v, v, v, v, v, v, v)
	}
	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("config", "kafka", cfg, "security", sec)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "kafka", cfg, "security", sec)
	if strings.Contains(out.String(), secret) || strings.Contains(out.String(), fmt.Sprintf("%x", secret)) {
		t.Fatalf("password in formatted output:\n%s", out.String())
	}
	for _, want := range []string{kafkasec.Redacted, "SASL_SSL PLAIN as cartstream", `"sasl_username":"cartstream"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("formatted output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestApplySarama checks that every mechanism yields a sarama configuration
// sarama itself accepts, with TLS and SASL set as Kafka expects.
func TestApplySarama(t *testing.T) {
	for _, m := range kafkasec.Mechanisms {
		sec, err := kafkasec.Config{TLS: true, SASLMechanism: string(m), SASLUsername: "u", SASLPassword: "p"}.Load()
		if err != nil {
			t.Fatal(err)
		}
		c := sarama.NewConfig()
		sec.ApplySarama(c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: sarama rejects the config: %v", m, err)
		}
		if !c.Net.TLS.Enable || c.Net.TLS.Config == nil || !c.Net.SASL.Enable || string(c.Net.SASL.Mechanism) != string(m) ||
			c.Net.SASL.Version != sarama.SASLHandshakeV1 || !c.Net.SASL.Handshake {
			t.Errorf("%s: sarama Net = %+v", m, c.Net.SASL)
		}
		if m != kafkasec.Plain && c.Net.SASL.SCRAMClientGeneratorFunc == nil {
			t.Errorf("%s: no SCRAM client", m)
		}
		if got := len(sec.ClientOpts()); got != 2 {
			t.Errorf("%s: %d franz-go options, want TLS and SASL", m, got)
		}
	}
	plain := sarama.NewConfig()
	(*kafkasec.Security)(nil).ApplySarama(plain)
	if plain.Net.TLS.Enable || plain.Net.SASL.Enable {
		t.Error("a nil Security turned on TLS or SASL")
	}
}

func TestRefused(t *testing.T) {
	refused := []error{
		fmt.Errorf("list topics: %w", kerr.SaslAuthenticationFailed),
		kerr.UnsupportedSaslMechanism,
		&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
		fmt.Errorf("dial: %w", x509.HostnameError{Host: "kafka"}),
	}
	for _, err := range refused {
		if !kafkasec.Refused(err) {
			t.Errorf("Refused(%v) = false", err)
		}
	}
	for _, err := range []error{nil, errors.New("EOF"), kerr.LeaderNotAvailable, kerr.BrokerNotAvailable} {
		if kafkasec.Refused(err) {
			t.Errorf("Refused(%v) = true", err)
		}
	}
}
