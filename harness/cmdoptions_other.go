//go:build !linux

package harness

import "os/exec"

// setCmdOptions: chromedp sets nothing on Chrome's command on this system.
func setCmdOptions(*exec.Cmd) {}
