//go:build !windows

package cdppipe

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// hijack puts the relay between chromedp and Chrome. chromedp gave Chrome the
// child ends of its pipes as file descriptors 3 (commands) and 4 (answers and
// events); the relay keeps copies of them as its chromedp side and gives
// Chrome new pipes of its own. It runs as chromedp's ModifyCmdFunc, before
// Chrome starts. On failure Chrome keeps chromedp's pipes and the relay stays
// inactive.
func (r *Relay) Hijack(cmd *exec.Cmd) error {
	if len(cmd.ExtraFiles) != 2 {
		return fmt.Errorf("putting the relay on Chrome's pipe: chromedp gave %d extra files, want 2", len(cmd.ExtraFiles))
	}
	down, err := dupCloseOnExec(cmd.ExtraFiles[0], "chromedp-commands")
	if err != nil {
		return err
	}
	up, err := dupCloseOnExec(cmd.ExtraFiles[1], "chromedp-answers")
	if err != nil {
		down.Close()
		return err
	}
	chromeR, toChrome, err := os.Pipe()
	if err != nil {
		down.Close()
		up.Close()
		return fmt.Errorf("putting the relay on Chrome's pipe: %w", err)
	}
	fromChrome, chromeW, err := os.Pipe()
	if err != nil {
		down.Close()
		up.Close()
		chromeR.Close()
		toChrome.Close()
		return fmt.Errorf("putting the relay on Chrome's pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{chromeR, chromeW}
	r.down, r.up, r.toChrome, r.fromChrome = down, up, toChrome, fromChrome
	r.childEnds = append(r.childEnds, chromeR, chromeW)
	r.start()
	return nil
}

// dupCloseOnExec duplicates f's descriptor; the copy is not inherited by
// other processes this one starts.
func dupCloseOnExec(f *os.File, name string) (*os.File, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("putting the relay on Chrome's pipe: duplicating %s: %w", name, err)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name), nil
}
