//go:build !darwin

package launchd

import (
	"net"

	"github.com/coreos/go-systemd/v22/activation"
)

func activatedListeners() ([]net.Listener, error) {
	// activation checks LISTEN_PID against our pid, so a variable
	// inherited from a parent that was activated is ignored.
	ls, err := activation.Listeners()
	if err != nil {
		closeAll(ls)
		return nil, err
	}
	if len(ls) == 0 {
		return nil, nil
	}
	return ls, nil
}
