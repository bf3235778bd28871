// Package httpapi serves cartstream's HTTP endpoints: liveness (/healthz),
// readiness (/readyz, ready once every supervised component has recovered its
// tables), and Prometheus metrics (/metrics). The interactive-query routes of
// DESIGN §7 join it here.
//
// Handlers only read state that components publish; they never block on
// Kafka.
package httpapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"cartstream/internal/supervise"
)

// Server timeouts: generous for queries, strict against slow clients.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
)

// Component is what /readyz asks about each supervised part.
type Component interface {
	Status() supervise.Status
}

// Config wires the server to the rest of the instance.
type Config struct {
	// Listen is host:port (port 0 picks a free port).
	Listen string
	// InstanceID names this instance in responses.
	InstanceID string
	// Metrics serves /metrics.
	Metrics http.Handler
	// Components are reported by /readyz; the instance is ready when all
	// are ready.
	Components func() []Component
	// Startup reports what the instance is still doing before its
	// components exist (creating topics, say); "" once started.
	Startup func() string
	// Routes, when set, mounts further routes (the queries of DESIGN §7).
	Routes func(*http.ServeMux)
	// TLSCert and TLSKey, when set, serve HTTPS with this PEM pair.
	TLSCert, TLSKey string
}

// Server is the HTTP server of one instance.
type Server struct {
	cfg  Config
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen binds the listener, so the address is known (and port conflicts
// reported) before serving starts.
func Listen(ctx context.Context, cfg Config) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("http: listen on %s: %w", cfg.Listen, err)
	}
	s := &Server{cfg: cfg, ln: ln, done: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.Routes != nil {
		cfg.Routes(mux)
	}
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("http: TLS key pair: %w", err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting requests and waits for in-flight ones until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("http: shutdown: %w", err)
	}
	return <-s.done
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "instance": s.cfg.InstanceID})
}

// readiness is the /readyz body.
type readiness struct {
	Ready      bool               `json:"ready"`
	Instance   string             `json:"instance"`
	Startup    string             `json:"startup,omitempty"`
	Components []supervise.Status `json:"components"`
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	r := readiness{Ready: true, Instance: s.cfg.InstanceID, Components: []supervise.Status{}}
	if s.cfg.Startup != nil {
		if phase := s.cfg.Startup(); phase != "" {
			r.Ready = false
			r.Startup = phase
		}
	}
	if s.cfg.Components != nil {
		for _, c := range s.cfg.Components() {
			st := c.Status()
			r.Components = append(r.Components, st)
			if st.State != supervise.StateReady {
				r.Ready = false
			}
		}
	}
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, r)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
