package cdppipe

import (
	"errors"
	"os/exec"
)

// hijack is not done on Windows, where chromedp passes Chrome its pipes as
// handles: the relay stays inactive, and the harness follows only the tabs it
// opens and the extensions' service workers (see README, Known limits).
func (r *Relay) Hijack(*exec.Cmd) error {
	return errors.New("the relay is not available on Windows")
}
