//go:build !linux

package main

// endWithGoRun does nothing: only Linux can signal a process when its
// parent dies.
func endWithGoRun() {}
