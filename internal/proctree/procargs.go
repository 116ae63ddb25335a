package proctree

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// procArgs is what macOS's kern.procargs2 sysctl says about a process. The
// parser has no build tag so that its tests run on every system.
type procArgs struct {
	exe  string // the path given to exec: possibly relative, a symlink, or a #! script
	argv []string
	env  []string
}

// parseProcArgs decodes a kern.procargs2 buffer: a native-endian int32
// argc; the path given to exec, NUL-terminated and NUL-padded; argc
// NUL-terminated arguments; then the environment, NUL-terminated strings up
// to an empty one or the end of the buffer (the kernel cuts the environment
// off after the arguments for some processes).
//
// The strings are copied from the process's own stack, which it can
// overwrite, so a buffer that does not fit this layout is an error rather
// than a guess.
func parseProcArgs(b []byte) (procArgs, error) {
	if len(b) < 4 {
		return procArgs{}, errors.New("procargs: shorter than argc")
	}
	argc := int32(binary.NativeEndian.Uint32(b))
	rest := b[4:]
	// Every argument takes at least its NUL, which also bounds what an
	// absurd argc could make us allocate.
	if argc < 0 || int(argc) > len(rest) {
		return procArgs{}, fmt.Errorf("procargs: argc %d does not fit %d bytes", argc, len(rest))
	}
	exe, rest, ok := cutString(rest)
	if !ok {
		return procArgs{}, errors.New("procargs: the exec path is cut off")
	}
	// The kernel pads the path with NULs to align what follows and skips
	// them all the same way; an empty argv[0] is lost in the padding, as it
	// is to ps.
	rest = bytes.TrimLeft(rest, "\x00")
	argv := make([]string, 0, argc)
	for i := range argc {
		var s string
		if s, rest, ok = cutString(rest); !ok {
			return procArgs{}, fmt.Errorf("procargs: argument %d of %d is cut off", i, argc)
		}
		argv = append(argv, s)
	}
	// As on Linux, trailing empty arguments are padding: a process that
	// retitled itself (node's process.title) zeroes its old argument area,
	// and that area also lies between the arguments and the environment.
	for len(argv) > 0 && argv[len(argv)-1] == "" {
		argv = argv[:len(argv)-1]
	}
	if len(argv) == 0 {
		argv = nil
	}
	rest = bytes.TrimLeft(rest, "\x00")
	// The strings the kernel passes to dyld follow the environment, at
	// times with no empty string between; they are read as more of it,
	// which is harmless: they name no agent marker.
	var env []string
	for len(rest) > 0 {
		var s string
		if s, rest, ok = cutString(rest); !ok {
			return procArgs{}, fmt.Errorf("procargs: environment string %d is cut off", len(env))
		}
		if s == "" {
			break
		}
		env = append(env, s)
	}
	return procArgs{exe: exe, argv: argv, env: env}, nil
}

// cutString splits a NUL-terminated string off b; ok is false without a NUL.
func cutString(b []byte) (s string, rest []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", b, false
	}
	return string(b[:i]), b[i+1:], true
}
