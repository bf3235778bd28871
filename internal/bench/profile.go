package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// maxProfileSeconds keeps a profile below cartstream's HTTP write timeout
// (httpapi.WriteTimeout, 30 s), past which net/http/pprof refuses it.
const maxProfileSeconds = 25

// fetchProfile saves http://<addr>/debug/pprof/<kind>?seconds=N to path:
// kind "profile" is the CPU profile of the next N seconds, "allocs" the
// allocations made in them.
func fetchProfile(ctx context.Context, addr, kind string, seconds int, path string) error {
	seconds = min(max(seconds, 1), maxProfileSeconds)
	hc := &http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	url := "http://" + addr + "/debug/pprof/" + kind + "?seconds=" + strconv.Itoa(seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bench: %s profile: %w", kind, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s profile: %w", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("bench: %s profile: status %d: %s", kind, resp.StatusCode, b)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench: %s profile: %w", kind, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %s profile: %w", kind, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("bench: %s profile: %w", kind, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %s profile: %w", kind, err)
	}
	return nil
}
