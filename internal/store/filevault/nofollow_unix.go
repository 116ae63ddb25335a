//go:build unix

package filevault

import "syscall"

// nofollow keeps a planted symlink from redirecting a key file read or write.
const nofollow = syscall.O_NOFOLLOW
