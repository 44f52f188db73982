//go:build !linux && !windows

package harness

import "os/exec"

// setCmdOptions: chromedp sets nothing on Chrome's command on this system.
func setCmdOptions(*exec.Cmd) {}
