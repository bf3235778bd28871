package bench

import "syscall"

// childAttr makes a child die with the harness, so a run killed or timed
// out leaves no broker or instance behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
