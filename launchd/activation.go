package launchd

import (
	"fmt"
	"net"
)

// Listeners returns the listening sockets the service manager opened for
// hush: systemd's (LISTEN_FDS, from fd 3) on Linux, launchd's "Listeners"
// socket on macOS. It returns nil, nil when hush was not started by socket
// activation, so the daemon listens on its own. Each socket is returned
// once: the activation environment is cleared so children do not inherit
// it.
func Listeners() ([]net.Listener, error) {
	ls, err := activatedListeners()
	if err != nil {
		return nil, err
	}
	for i, l := range ls {
		if _, ok := l.(*net.UnixListener); !ok {
			closeAll(ls)
			return nil, fmt.Errorf("hush service: socket %d handed over by the service manager is not a Unix stream socket; hush.socket must say ListenStream=/absolute/path", i)
		}
	}
	return ls, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		if l != nil {
			l.Close()
		}
	}
}
