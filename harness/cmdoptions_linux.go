package harness

import (
	"os"
	"os/exec"
	"syscall"
)

// setCmdOptions does what chromedp does to Chrome's command when no
// ModifyCmdFunc is given: Chrome is killed when the thread that started it
// ends (chromedp starts it from a locked thread that lives as long as Chrome).
func setCmdOptions(cmd *exec.Cmd) {
	if _, ok := os.LookupEnv("LAMBDA_TASK_ROOT"); ok {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = new(syscall.SysProcAttr)
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
