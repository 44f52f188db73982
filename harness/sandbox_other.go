//go:build !unix

package harness

import "io/fs"

// fileOwner is -1: files have no user ID owner here (and Chrome's sandbox
// needs no setuid helper).
func fileOwner(fs.FileInfo) int { return -1 }
