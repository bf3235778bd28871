//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cartstream/internal/kafkasec/kafkasectest"
)

// TestSecureBrokerWithKcat runs the whole system over SASL_SSL as an
// operator would: `cartstream broker` with a TLS key pair and a SCRAM user,
// `cartstream run --brokers` and `cartstream demo seed` with the matching
// --kafka-* flags (the password from a file), and kcat (librdkafka) with
// -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-256. A cart
// event kcat produces yields an offer kcat reads; kcat with a wrong
// password is refused with an authentication error; neither process prints
// the password; both stop cleanly.
func TestSecureBrokerWithKcat(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat is not installed (apt-get install kcat); .ci/run installs it")
	}
	bin := binary(t)
	dir := t.TempDir()
	pki := kafkasectest.WritePKI(t, dir)
	const user, pass = "cartstream", "e2e-Scram-Pa55word"
	users := kafkasectest.UsersFile(t, dir, "SCRAM-SHA-256 "+user+" "+pass)
	pwFile := kafkasectest.WriteFile(t, dir, "kafka-password", pass+"\n")
	kafkaAddr, httpAddr := freeAddr(t), freeAddr(t)

	brk := start(t, bin, "broker", "--data-dir", filepath.Join(dir, "broker"), "--listen", kafkaAddr,
		"--tls-cert", pki.BrokerCert, "--tls-key", pki.BrokerKey, "--sasl-users-file", users)
	secure := []string{"--brokers", kafkaAddr, "--kafka-tls", "--kafka-tls-ca", pki.CA,
		"--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-username", user, "--kafka-sasl-password-file", pwFile}
	run := start(t, bin, append([]string{"run", "--data-dir", filepath.Join(dir, "run"), "--http-listen", httpAddr, "--partitions", "4"}, secure...)...)
	waitReady(t, run, httpAddr, 60*time.Second)

	out, err := exec.Command(bin, append([]string{"demo", "seed"}, secure...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("demo seed over SASL_SSL: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte(pass)) {
		t.Error("demo seed printed the password")
	}

	sasl := func(password string) []string {
		return []string{"-b", kafkaAddr, "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-256",
			"-X", "sasl.username=" + user, "-X", "sasl.password=" + password, "-X", "ssl.ca.location=" + pki.CA}
	}
	// The catalog reaches the products table before the cart asks for it.
	for deadline := time.Now().Add(60 * time.Second); ; {
		got := kcat(t, "", append([]string{"-C", "-t", "cartstream.products", "-o", "beginning", "-e", "-q", "-f", "%k\n"}, sasl(pass)...)...)
		if strings.Contains(got, "SKU-00001\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SKU-00001 never reached cartstream.products")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)

	event := `{"event_id":"sec-1","cart_id":"c-sec","type":"item_added","sku":"SKU-00001","qty":2,"currency":"USD"}`
	kcat(t, "c-sec\x1f"+event+"\n", append([]string{"-P", "-t", "cart-events", "-K", "\x1f", "-X", "partitioner=murmur2_random"}, sasl(pass)...)...)
	for deadline := time.Now().Add(60 * time.Second); ; {
		got := kcat(t, "", append([]string{"-C", "-t", "cartstream.offers", "-o", "beginning", "-e", "-q", "-f", "%s\n"}, sasl(pass)...)...)
		var o offer
		found := false
		for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
			if line != "" && json.Unmarshal([]byte(line), &o) == nil && o.CartID == "c-sec" {
				found = true
				break
			}
		}
		if found {
			if o.Source.EventID != "sec-1" || o.CartVersion != 1 || o.Subtotal == "" {
				t.Errorf("offer %+v, want one for event sec-1 at cart version 1", o)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no offer for c-sec within 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The broker refuses a wrong password, and says why.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wrong, err := exec.CommandContext(ctx, "kcat", append([]string{"-L", "-m", "5"}, sasl("not-"+pass)...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(wrong), "SASL authentication error") {
		t.Errorf("kcat with a wrong password: %v\n%s\nwant a SASL authentication error", err, wrong)
	}

	for name, p := range map[string]*proc{"run": run, "broker": brk} {
		if _, err := p.stop(t, 20*time.Second); err != nil {
			t.Errorf("%s: exit after SIGTERM: %v", name, err)
		}
		if strings.Contains(p.output(), pass) {
			t.Errorf("%s printed the password", name)
		}
	}
}
