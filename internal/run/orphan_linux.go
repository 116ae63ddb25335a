package run

import (
	"runtime"
	"syscall"
)

// dieWithParent has the kernel send the child SIGTERM when hush dies. SIGTERM
// rather than SIGKILL: it is what the child would get first if hush could
// still act (ctx done), and lets it clean up.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }

// pinThread keeps the calling goroutine on its OS thread until unpin. The
// parent-death signal fires when the thread that forked the child exits, not
// when the process does, and the Go runtime ends a thread whose locked
// goroutine returns without unlocking. Holding the thread for the whole
// life of the child means no other goroutine can lock it and take it down
// with a live child.
func pinThread() (unpin func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
