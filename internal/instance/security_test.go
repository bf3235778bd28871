package instance_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"cartstream/internal/config"
	"cartstream/internal/instance"
	"cartstream/internal/kafkasec/kafkasectest"
)

const password = "pw-0f-the-instance-7d1c"

// TestSecureEmbeddedRun runs a whole instance whose embedded broker speaks
// TLS and SCRAM-SHA-512 (--kafka-listen-tls-*, --kafka-listen-sasl-users-file)
// and whose clients, franz-go and goka alike, use the matching --kafka-*
// settings, the password coming from CARTSTREAM_KAFKA_SASL_PASSWORD: every
// component gets ready, and nothing logged at debug level carries the
// password. The same instance with a wrong password stops at once with an
// error that says the brokers refused it, without the password either.
func TestSecureEmbeddedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	dir := t.TempDir()
	pki := kafkasectest.WritePKI(t, dir)
	users := kafkasectest.UsersFile(t, dir, "SCRAM-SHA-512 cartstream "+password)
	dataDir := t.TempDir()
	args := func() []string {
		return []string{
			"--data-dir", dataDir, "--kafka-listen", freeAddr(t), "--http-listen", freeAddr(t),
			"--partitions", "2", "--log-level", "debug", "--shutdown-timeout", "20s",
			"--kafka-listen-tls-cert", pki.BrokerCert, "--kafka-listen-tls-key", pki.BrokerKey,
			"--kafka-listen-sasl-users-file", users,
			"--kafka-tls", "--kafka-tls-ca", pki.CA,
			"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-username", "cartstream",
		}
	}

	t.Run("ready", func(t *testing.T) {
		logs := &syncBuffer{}
		cfg := parse(t, args(), map[string]string{"CARTSTREAM_KAFKA_SASL_PASSWORD": password})
		in, err := instance.New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- in.Run(ctx) }()
		waitReady(t, cfg.HTTPListen, done, 90*time.Second)
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("instance: %v", err)
		}
		out := logs.String()
		if strings.Contains(out, password) {
			t.Fatalf("the SASL password is in the instance's logs")
		}
		if !strings.Contains(out, `"kafka_security":"SASL_SSL SCRAM-SHA-512 as cartstream"`) {
			t.Errorf("the logs do not say which Kafka security the instance speaks")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		logs := &syncBuffer{}
		cfg := parse(t, args(), map[string]string{"CARTSTREAM_KAFKA_SASL_PASSWORD": "not-" + password})
		in, err := instance.New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = in.Run(ctx)
		if ctx.Err() != nil {
			t.Fatal("an instance the brokers refuse kept trying for 30 s")
		}
		if err == nil || !strings.Contains(err.Error(), "refused this instance's Kafka security settings") || !strings.Contains(err.Error(), "SASL Authentication failed") {
			t.Fatalf("Run() = %v, want the refusal and SASL_AUTHENTICATION_FAILED", err)
		}
		if strings.Contains(err.Error()+logs.String(), password) {
			t.Fatal("a password is in the error or the logs")
		}
	})
}

func parse(t *testing.T, args []string, env map[string]string) config.Config {
	t.Helper()
	var cfg config.Config
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	cfg.RegisterRun(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := config.Apply(fs, func(k string) string { return env[k] }, ""); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func waitReady(t *testing.T, addr string, done <-chan error, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("instance stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance not ready within %s", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the instance's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
