//go:build unix

package app

import "syscall"

// diskFree returns the bytes available to the sensor on dir's file system.
func diskFree(dir string) uint64 {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0
	}
	return uint64(s.Bavail) * uint64(s.Bsize)
}
