package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"cartstream/internal/kafkasec"
)

// TestKafkaSecurityFromEnvAndFile: the password reaches the config through
// CARTSTREAM_KAFKA_SASL_PASSWORD or the YAML file like any flag, a flag
// beats both, and KafkaCluster hands the brokers their security.
func TestKafkaSecurityFromEnvAndFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cartstream.yaml")
	if err := os.WriteFile(file, []byte("kafka-sasl-mechanism: SCRAM-SHA-512\nkafka-sasl-username: cartstream\nkafka-sasl-password: from-file\nkafka-tls: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "file", want: "from-file"},
		{name: "env beats file", env: map[string]string{"CARTSTREAM_KAFKA_SASL_PASSWORD": "from-env"}, want: "from-env"},
		{name: "flag beats env", args: []string{"--kafka-sasl-password", "from-flag"}, env: map[string]string{"CARTSTREAM_KAFKA_SASL_PASSWORD": "from-env"}, want: "from-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			c.RegisterRun(fs)
			if err := fs.Parse(append([]string{"--brokers", "k1:9093,k2:9093"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			if err := Apply(fs, func(k string) string { return tc.env[k] }, file); err != nil {
				t.Fatal(err)
			}
			if c.KafkaSecurity.SASLPassword != tc.want {
				t.Fatalf("password %q, want %q", c.KafkaSecurity.SASLPassword, tc.want)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			cl, err := c.KafkaCluster()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(cl.Brokers, ",") != "k1:9093,k2:9093" || cl.Security.String() != "SASL_SSL SCRAM-SHA-512 as cartstream" {
				t.Fatalf("cluster %v with %s", cl.Brokers, cl.Security)
			}
		})
	}
}

func TestValidateKafkaSecurity(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "CA without TLS", args: []string{"--kafka-tls-ca", "ca.pem"}, want: "--kafka-tls-ca given without --kafka-tls"},
		{name: "mechanism without user", args: []string{"--kafka-sasl-mechanism", "PLAIN"}, want: "needs --kafka-sasl-username"},
		{name: "embedded broker flags with --brokers", args: []string{"--brokers", "k:9092", "--kafka-listen-sasl-users-file", "u"}, want: "--kafka-listen-sasl-users-file configure the embedded broker"},
		{name: "embedded cert without key", args: []string{"--kafka-listen-tls-cert", "c.pem"}, want: "--kafka-listen-tls-cert and --kafka-listen-tls-key go together"},
		{name: "embedded client CA without cert", args: []string{"--kafka-listen-tls-client-ca", "ca.pem"}, want: "needs --kafka-listen-tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			c.RegisterRun(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestConfigRedactsSecrets: the whole Config may be printed or logged; its
// secrets never are.
func TestConfigRedactsSecrets(t *testing.T) {
	c := Config{HTTPToken: "http-secret-1", KafkaSecurity: kafkasec.Config{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPassword: "kafka-secret-2"}}
	out := fmt.Sprintf("%v %+v %#v %s %d %q", c, c, &c, c, c, c) + c.LogValue().String()
	for _, s := range []string{"http-secret-1", "kafka-secret-2"} {
		if strings.Contains(out, s) {
			t.Errorf("formatted Config shows %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "SASLUsername") {
		t.Errorf("formatted Config lost its other fields:\n%s", out)
	}
}
