//go:build unix

package harness

import (
	"io/fs"
	"syscall"
)

// fileOwner is the user ID that owns the file, or -1 if unknown.
func fileOwner(st fs.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}
