package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cartstream/internal/kafkasec"
	"cartstream/internal/kafkasec/kafkasectest"
)

func TestLoadSASLUsers(t *testing.T) {
	dir := t.TempDir()
	path := kafkasectest.UsersFile(t, dir,
		"PLAIN alice correct horse battery",
		"",
		"  scram-sha-256   bob   s3cret  ",
		"# a comment",
		"SCRAM-SHA-512 bob other")
	users, err := LoadSASLUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []SASLUser{
		{Mechanism: kafkasec.Plain, User: "alice", Password: "correct horse battery"},
		{Mechanism: kafkasec.ScramSHA256, User: "bob", Password: "s3cret"},
		{Mechanism: kafkasec.ScramSHA512, User: "bob", Password: "other"},
	}
	if len(users) != len(want) {
		t.Fatalf("users %v, want %v", users, want)
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("user %d = %v, want %v", i, users[i], want[i])
		}
	}
	if s := users[0].String(); strings.Contains(s, "horse") {
		t.Errorf("SASLUser.String() shows the password: %s", s)
	}

	for name, tc := range map[string]struct{ lines []string }{
		"unknown mechanism": {[]string{"GSSAPI carol pw-carol"}},
		"no password":       {[]string{"PLAIN carol"}},
		"twice":             {[]string{"PLAIN carol pw-carol", "PLAIN carol pw-carol2"}},
		"no user":           {[]string{"# only a comment"}},
	} {
		_, err := LoadSASLUsers(kafkasectest.UsersFile(t, t.TempDir(), tc.lines...))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "pw-carol") {
			t.Errorf("%s: the error shows a password: %v", name, err)
		}
	}
}

// TestSASLUsersAreTheConfiguredOnes covers kfake's persistence of SASL
// users: a data directory a broker ran on without SASL, or with other
// users, must not override the users the broker is started with, and no
// password is left in the directory after Close.
func TestSASLUsersAreTheConfiguredOnes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Start(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	for _, pass := range []string{"first-pw", "second-pw"} {
		b, err := Start(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0", SASLUsers: []SASLUser{
			{Mechanism: kafkasec.ScramSHA256, User: "u", Password: pass},
			{Mechanism: kafkasec.Plain, User: "p", Password: "plain-" + pass},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := listTopics(b.Addr(), kafkasec.Config{SASLMechanism: "SCRAM-SHA-256", SASLUsername: "u", SASLPassword: pass}); err != nil {
			t.Errorf("configured SCRAM user after a restart: %v", err)
		}
		if err := listTopics(b.Addr(), kafkasec.Config{SASLMechanism: "PLAIN", SASLUsername: "p", SASLPassword: "plain-" + pass}); err != nil {
			t.Errorf("configured PLAIN user after a restart: %v", err)
		}
		if pass == "second-pw" {
			err := listTopics(b.Addr(), kafkasec.Config{SASLMechanism: "SCRAM-SHA-256", SASLUsername: "u", SASLPassword: "first-pw"})
			if !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Errorf("the previous run's password: %v, want SASL_AUTHENTICATION_FAILED", err)
			}
		}
		b.Close()
		err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err == nil && bytes.Contains(data, []byte("plain-"+pass)) {
				t.Errorf("%s holds a PLAIN password after Close", path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func listTopics(addr string, sec kafkasec.Config) error {
	s, err := sec.Load()
	if err != nil {
		return err
	}
	cl, err := kafkasec.Cluster{Brokers: []string{addr}, Security: s}.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).ListTopics(ctx)
	return err
}

// TestApiVersionsAdvertiseHandshakeV0: with SASL on, the ApiVersions
// answer before authentication lists SaslHandshake from v0, as Kafka does,
// which librdkafka requires before it authenticates at all.
func TestApiVersionsAdvertiseHandshakeV0(t *testing.T) {
	b, err := Start(context.Background(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		SASLUsers: []SASLUser{{Mechanism: kafkasec.ScramSHA512, User: "u", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	conn, err := net.DialTimeout("tcp", b.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for _, version := range []int16{0, 3} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = version
		req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1.0"
		frame := []byte{0, 0, 0, 0, 0, 18, 0, byte(version), 0, 0, 0, 7, 0xff, 0xff} // size, key, version, corr 7, null client id
		if req.IsFlexible() {
			frame = append(frame, 0) // header tags
		}
		frame = req.AppendTo(frame)
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		var size [4]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(conn, body); err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = version
		if err := resp.ReadFrom(body[4:]); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, k := range resp.ApiKeys {
			if k.ApiKey == int16(kmsg.SASLHandshake) {
				found = true
				if k.MinVersion != 0 || k.MaxVersion != 1 {
					t.Errorf("ApiVersions v%d: SaslHandshake v%d-%d, want v0-1", version, k.MinVersion, k.MaxVersion)
				}
			}
		}
		if !found {
			t.Errorf("ApiVersions v%d does not list SaslHandshake", version)
		}
	}
}
