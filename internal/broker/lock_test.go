package broker

import (
	"context"
	"errors"
	"testing"
)

// TestDataDirLock: a second broker on a data directory in use fails with
// ErrDataDirInUse, and the directory is free again once the first closes.
func TestDataDirLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Start(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0"}); !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second broker on the same dir: err = %v, want ErrDataDirInUse", err)
	}
	b.Close()
	b2, err := Start(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	b2.Close()
}
