package broker

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"cartstream/internal/kafkasec"
)

// SASLUser is a user the broker accepts: a mechanism, a name and a
// password. Its String omits the password.
type SASLUser struct {
	Mechanism kafkasec.Mechanism
	User      string
	Password  string
}

func (u SASLUser) String() string { return string(u.Mechanism) + " " + u.User }

// LoadSASLUsers reads a users file: one user a line as
//
//	MECHANISM USER PASSWORD
//
// where MECHANISM is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 and PASSWORD is
// the rest of the line without surrounding white space (so it may contain
// spaces). Blank lines and lines starting with # are skipped. A user may
// appear once per mechanism. Errors name the line, never its password.
func LoadSASLUsers(path string) ([]SASLUser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("broker: SASL users: %w", err)
	}
	defer f.Close()
	var users []SASLUser
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mech, rest, _ := strings.Cut(line, " ")
		user, pass, _ := strings.Cut(strings.TrimSpace(rest), " ")
		pass = strings.TrimSpace(pass)
		m, err := kafkasec.ParseMechanism(mech)
		if err != nil || m == kafkasec.None {
			return nil, fmt.Errorf("broker: SASL users %s:%d: mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", path, n, mech)
		}
		if user == "" || pass == "" {
			return nil, fmt.Errorf("broker: SASL users %s:%d: want MECHANISM USER PASSWORD", path, n)
		}
		key := string(m) + " " + user
		if seen[key] {
			return nil, fmt.Errorf("broker: SASL users %s:%d: %s %s given twice", path, n, m, user)
		}
		seen[key] = true
		users = append(users, SASLUser{Mechanism: m, User: user, Password: pass})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("broker: SASL users %s: %w", path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("broker: SASL users %s: no user in it", path)
	}
	return users, nil
}

// securityOpts are the kfake options for the configured SASL users and the
// server TLS configuration (nil: plaintext). TLS is not kfake.TLS: the
// broker's listener does it, below authConn (see secureListener).
func (cfg Config) securityOpts() ([]kfake.Opt, *tls.Config, error) {
	var (
		opts      []kfake.Opt
		serverTLS *tls.Config
	)
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, nil, errors.New("broker: the TLS certificate and key go together")
	}
	if cfg.TLSClientCA != "" && cfg.TLSCert == "" {
		return nil, nil, errors.New("broker: a TLS client CA needs the broker's TLS certificate and key")
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("broker: TLS certificate: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.TLSClientCA != "" {
			pem, err := os.ReadFile(cfg.TLSClientCA)
			if err != nil {
				return nil, nil, fmt.Errorf("broker: TLS client CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("broker: TLS client CA %s: no PEM certificate in it", cfg.TLSClientCA)
			}
			tc.ClientCAs = pool
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
		serverTLS = tc
	}
	if len(cfg.SASLUsers) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.SASLUsers {
			if _, err := kafkasec.ParseMechanism(string(u.Mechanism)); err != nil || u.Mechanism == kafkasec.None {
				return nil, nil, fmt.Errorf("broker: SASL user %s: mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", u.User, u.Mechanism)
			}
			if u.User == "" || u.Password == "" {
				return nil, nil, errors.New("broker: a SASL user needs a name and a password")
			}
			// Superusers: the broker checks no ACLs, and one user
			// may do everything cartstream needs (create topics,
			// commit offsets, describe groups).
			opts = append(opts, kfake.Superuser(string(u.Mechanism), u.User, u.Password))
		}
	}
	return opts, serverTLS, nil
}

// saslStateFile is where kfake persists SASL users in its data directory.
const saslStateFile = "sasl.json"

func removeSASLState(dir string) error {
	err := os.Remove(filepath.Join(dir, saslStateFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("broker: remove stale SASL users: %w", err)
	}
	return nil
}
