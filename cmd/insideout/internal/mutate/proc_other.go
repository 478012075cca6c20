//go:build !unix

package mutate

import "os/exec"

// setGroup does nothing where there are no process groups.
func setGroup(cmd *exec.Cmd) {}

// killGroup kills cmd (only: its children may outlive it here).
func killGroup(cmd *exec.Cmd, quit bool) { _ = cmd.Process.Kill() }
