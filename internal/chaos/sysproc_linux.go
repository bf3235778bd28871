package chaos

import "syscall"

// childAttr makes a child die with the chaos process (a chaos run killed
// or timed out leaves no broker or instance behind).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
