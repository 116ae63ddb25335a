//go:build darwin && cgo

package launchd

/*
#include <launch.h>
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"
)

func activatedListeners() ([]net.Listener, error) {
	name := C.CString(SocketName)
	defer C.free(unsafe.Pointer(name))
	var fds *C.int
	var n C.size_t
	switch rc := C.launch_activate_socket(name, &fds, &n); syscall.Errno(rc) {
	case 0:
	case syscall.ESRCH, syscall.ENOENT:
		// Not a launchd job, or a job without our socket: listen alone.
		return nil, nil
	default:
		return nil, fmt.Errorf("hush service: taking the socket from launchd: %w", syscall.Errno(rc))
	}
	defer C.free(unsafe.Pointer(fds))
	var ls []net.Listener
	for _, fd := range unsafe.Slice(fds, int(n)) {
		f := os.NewFile(uintptr(fd), "launchd-"+SocketName)
		l, err := net.FileListener(f)
		f.Close() // FileListener holds its own copy
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("hush service: launchd's socket: %w", err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}
