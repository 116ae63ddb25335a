//go:build unix

package approve

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a session of its own, and makes ending it (on
// timeout or cancel) kill every process in that session's group, not
// just cmd: an approval script's `sleep`, a dialog's helper. Without it
// they would be orphaned and live on. A session rather than only a
// process group: a text pinentry opens the terminal it is pointed at, and
// in a background group of the daemon's own session job control would
// stop it there.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error {
		// Called before Wait reaps cmd, so the group's ID is still ours.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}
