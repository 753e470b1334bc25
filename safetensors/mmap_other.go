//go:build !unix

package safetensors

import "os"

// mapFile is not available here; Open falls back to reading the file.
func mapFile(*os.File, int) ([]byte, func() error, error) { return nil, nil, nil }

// dropPages has nothing to drop: files are read into memory here.
func dropPages([]byte) error { return nil }
