package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cartstream.yaml")
	if err := os.WriteFile(file, []byte("data-dir: /from/file\nhttp-listen: 127.0.0.1:9999\nbrokers: [a:9092, b:9092]\ntick-interval: 250ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		file    string
		dataDir string
		http    string
		brokers string
		tick    time.Duration
	}{
		{name: "defaults", dataDir: DefaultDataDir, http: DefaultHTTPListen, tick: time.Second},
		{name: "file", file: file, dataDir: "/from/file", http: "127.0.0.1:9999", brokers: "a:9092,b:9092", tick: 250 * time.Millisecond},
		{name: "env beats file", file: file, env: map[string]string{"CARTSTREAM_DATA_DIR": "/from/env"}, dataDir: "/from/env", http: "127.0.0.1:9999", brokers: "a:9092,b:9092", tick: 250 * time.Millisecond},
		{name: "flag beats env", file: file, args: []string{"--data-dir", "/from/flag"}, env: map[string]string{"CARTSTREAM_DATA_DIR": "/from/env"}, dataDir: "/from/flag", http: "127.0.0.1:9999", brokers: "a:9092,b:9092", tick: 250 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			c.RegisterRun(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tc.env[k] }
			if err := Apply(fs, getenv, tc.file); err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tc.dataDir || c.HTTPListen != tc.http || strings.Join(c.Brokers, ",") != tc.brokers || c.TickInterval != tc.tick {
				t.Errorf("got data-dir %q http %q brokers %q tick %s", c.DataDir, c.HTTPListen, strings.Join(c.Brokers, ","), c.TickInterval)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
		})
	}
}

func TestApplyRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	_ = os.WriteFile(typo, []byte("data_dir: x\n"), 0o644)
	tests := []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{name: "unknown file key", file: typo, want: "unknown settings data_dir"},
		{name: "bad env value", env: map[string]string{"CARTSTREAM_PARTITIONS": "many"}, want: "CARTSTREAM_PARTITIONS"},
		{name: "missing file", file: filepath.Join(dir, "nope.yaml"), want: "read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			c.RegisterRun(fs)
			err := Apply(fs, func(k string) string { return tc.env[k] }, tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("min-insync-replicas"); got != "CARTSTREAM_MIN_INSYNC_REPLICAS" {
		t.Errorf("EnvName = %s", got)
	}
}
