//go:build unix

package mutate

import (
	"os/exec"
	"syscall"
)

// setGroup makes cmd the leader of a process group of its own, so that
// killGroup reaches the test binary that go test or go run starts.
func setGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup signals cmd's process group: SIGQUIT (a Go program prints
// its goroutines and exits) if quit, else SIGKILL.
func killGroup(cmd *exec.Cmd, quit bool) {
	sig := syscall.SIGKILL
	if quit {
		sig = syscall.SIGQUIT
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
