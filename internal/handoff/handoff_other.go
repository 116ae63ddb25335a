//go:build !unix

package handoff

import "os"

// Without O_NOFOLLOW, O_EXCL alone still refuses a planted name.
const oNoFollow = 0

// Ownership cannot be read portably here; the mode check still applies.
func ownerUID(os.FileInfo) (int, bool) { return 0, false }
