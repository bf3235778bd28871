package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cartstream test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
}

// TestServesTLS: with a key pair the server speaks HTTPS only, extra
// routes included.
func TestServesTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	s, err := Listen(context.Background(), Config{Listen: "127.0.0.1:0", InstanceID: "i", TLSCert: cert, TLSKey: key,
		Routes: func(mux *http.ServeMux) {
			mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pong") })
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Shutdown(context.Background()) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for path, want := range map[string]string{"/healthz": `"status":"ok"`, "/v1/ping": "pong"} {
		resp, err := client.Get("https://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
	if resp, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered on a TLS listener")
		}
	}
	if _, err := Listen(context.Background(), Config{Listen: "127.0.0.1:0", TLSCert: cert, TLSKey: cert}); err == nil {
		t.Error("a certificate as key was accepted")
	}
}

// TestPprofOnlyWhenAsked: /debug/pprof/ is absent by default, served with
// Pprof, and behind the bearer token when one is set.
func TestPprofOnlyWhenAsked(t *testing.T) {
	get := func(t *testing.T, cfg Config, auth string) int {
		t.Helper()
		cfg.Listen = "127.0.0.1:0"
		s, err := Listen(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Shutdown(context.Background()) }()
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/debug/pprof/cmdline", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for name, tc := range map[string]struct {
		cfg  Config
		auth string
		want int
	}{
		"off by default":      {Config{}, "", http.StatusNotFound},
		"on":                  {Config{Pprof: true}, "", http.StatusOK},
		"token missing":       {Config{Pprof: true, PprofToken: "s3cret"}, "", http.StatusUnauthorized},
		"token wrong":         {Config{Pprof: true, PprofToken: "s3cret"}, "Bearer nope", http.StatusUnauthorized},
		"token right":         {Config{Pprof: true, PprofToken: "s3cret"}, "Bearer s3cret", http.StatusOK},
		"token without pprof": {Config{PprofToken: "s3cret"}, "Bearer s3cret", http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			if got := get(t, tc.cfg, tc.auth); got != tc.want {
				t.Errorf("GET /debug/pprof/cmdline: %d, want %d", got, tc.want)
			}
		})
	}
}
