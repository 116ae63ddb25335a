//go:build unix

package handoff

import (
	"os"
	"syscall"
)

const oNoFollow = syscall.O_NOFOLLOW

func ownerUID(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
