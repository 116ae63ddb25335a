//go:build darwin && !cgo

package launchd

import (
	"errors"
	"net"
	"os"
)

func activatedListeners() ([]net.Listener, error) {
	// launchd names its jobs in XPC_SERVICE_NAME. Taking its socket needs
	// launch_activate_socket from libSystem, which takes cgo; listening
	// alone would collide with the socket launchd holds.
	if os.Getenv("XPC_SERVICE_NAME") == Label {
		return nil, errors.New("hush service: this hush was built without cgo and cannot take its socket from launchd; reinstall a cgo build")
	}
	return nil, nil
}
