// Package httpapi serves cartstream's HTTP endpoints: liveness (/healthz),
// readiness (/readyz, ready once every supervised component has recovered its
// tables), Prometheus metrics (/metrics) and, only when asked for (--pprof),
// Go's profiler under /debug/pprof/. The interactive-query routes of DESIGN
// §7 join it here.
//
// Handlers only read state that components publish; they never block on
// Kafka.
package httpapi

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
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
	// Pprof serves Go's profiler (net/http/pprof) under /debug/pprof/.
	// Off by default: profiles expose the process's internals (command
	// line, goroutine stacks) and cost CPU while they are taken.
	Pprof bool
	// PprofToken, when set, is the bearer token the /debug/pprof/ routes
	// require (the instance passes its --http-token).
	PprofToken string
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
	if cfg.Pprof {
		mountPprof(mux, cfg.PprofToken)
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

// mountPprof serves net/http/pprof's handlers under /debug/pprof/ on mux
// (not on http.DefaultServeMux, which the server never serves), behind the
// bearer token when one is set. /debug/pprof/profile?seconds=N is the CPU
// profile; /debug/pprof/allocs?seconds=N the allocations made in the next N
// seconds.
func mountPprof(mux *http.ServeMux, token string) {
	guard := func(h http.HandlerFunc) http.Handler {
		if token == "" {
			return h
		}
		want := []byte("Bearer " + token)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="cartstream"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "unauthorized", "message": "a valid bearer token is required"})
				return
			}
			h(w, r)
		})
	}
	mux.Handle("GET /debug/pprof/", guard(pprof.Index))
	mux.Handle("GET /debug/pprof/cmdline", guard(pprof.Cmdline))
	mux.Handle("GET /debug/pprof/profile", guard(pprof.Profile))
	mux.Handle("GET /debug/pprof/symbol", guard(pprof.Symbol))
	mux.Handle("POST /debug/pprof/symbol", guard(pprof.Symbol))
	mux.Handle("GET /debug/pprof/trace", guard(pprof.Trace))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
