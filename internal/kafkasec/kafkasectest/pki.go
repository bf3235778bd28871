// Package kafkasectest makes what tests of Kafka security need: a throwaway
// certificate authority with a broker and a client certificate, and a SASL
// users file for the embedded broker. Nothing here is fit for production.
package kafkasectest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PKI is the PEM files WritePKI wrote.
type PKI struct {
	CA                    string // the CA certificate
	BrokerCert, BrokerKey string // for 127.0.0.1 and localhost
	ClientCert, ClientKey string // CN=cartstream, for client authentication
	// OtherCA is a second CA that signed nothing here: trusting it
	// instead of CA must fail verification.
	OtherCA string
}

// WritePKI generates a CA valid for a day, a broker certificate for
// 127.0.0.1, ::1 and localhost and a client certificate, all signed by it,
// and writes them as PEM files into dir.
func WritePKI(t testing.TB, dir string) PKI {
	t.Helper()
	caKey, caCert, caDER := newCA(t, "cartstream test CA")
	_, _, otherDER := newCA(t, "some other CA")
	p := PKI{
		CA:         filepath.Join(dir, "ca.pem"),
		OtherCA:    filepath.Join(dir, "other-ca.pem"),
		BrokerCert: filepath.Join(dir, "broker.pem"),
		BrokerKey:  filepath.Join(dir, "broker-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, p.CA, "CERTIFICATE", caDER)
	writePEM(t, p.OtherCA, "CERTIFICATE", otherDER)
	leaf(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.BrokerCert, p.BrokerKey)
	leaf(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "cartstream"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.ClientCert, p.ClientKey)
	return p
}

func newCA(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func leaf(t testing.TB, caKey *ecdsa.PrivateKey, ca *x509.Certificate, tmpl *x509.Certificate, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial(t)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "PRIVATE KEY", keyDER)
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes content to dir/name with owner-only permissions, for
// password and users files, and returns its path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// UsersFile writes a broker SASL users file (see broker.LoadSASLUsers) with
// one line per "MECHANISM USER PASSWORD" entry.
func UsersFile(t testing.TB, dir string, lines ...string) string {
	t.Helper()
	return WriteFile(t, dir, "sasl-users", "# test users\n"+strings.Join(lines, "\n")+"\n")
}
