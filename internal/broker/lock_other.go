//go:build !unix

package broker

import "os"

// lockDir only creates the lock file where flock is not available: a second
// broker on the same data directory is not detected there.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}
