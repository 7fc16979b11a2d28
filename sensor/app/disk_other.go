//go:build !unix

package app

// diskFree is not measured on this platform.
func diskFree(dir string) uint64 { return 0 }
