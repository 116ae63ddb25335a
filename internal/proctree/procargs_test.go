package proctree

import (
	"encoding/binary"
	"slices"
	"testing"
)

// procargs builds a kern.procargs2 buffer: argc, then the string area.
func procargs(argc uint32, strings string) []byte {
	return append(binary.NativeEndian.AppendUint32(nil, argc), strings...)
}

func TestParseProcArgsReadsWhatTheKernelLaysOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		buf  []byte
		want procArgs
	}{
		{
			"the exec path, padding, arguments and environment are told apart",
			procargs(2, "/bin/sleep\x00\x00\x00\x00\x00\x00sleep\x00600\x00HOME=/h\x00A=1\x00\x00\x00\x00"),
			procArgs{exe: "/bin/sleep", argv: []string{"sleep", "600"}, env: []string{"HOME=/h", "A=1"}},
		},
		{
			"the environment stops at an empty string",
			procargs(1, "/bin/ls\x00\x00ls\x00A=1\x00\x00ptr_munge=\x00"),
			procArgs{exe: "/bin/ls", argv: []string{"ls"}, env: []string{"A=1"}},
		},
		{
			"empty arguments inside are kept, odd bytes exact",
			procargs(5, "/bin/sh\x00\x00sh\x00\x00a b\x00ü\x00-\x00"),
			procArgs{exe: "/bin/sh", argv: []string{"sh", "", "a b", "ü", "-"}},
		},
		{
			"a retitled process keeps its title and its environment",
			procargs(3, "/usr/local/bin/node\x00\x00\x00\x00\x00claude\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00CLAUDECODE=1\x00\x00"),
			procArgs{exe: "/usr/local/bin/node", argv: []string{"claude"}, env: []string{"CLAUDECODE=1"}},
		},
		{
			"an environment the kernel left out is empty",
			procargs(2, "/usr/bin/login\x00\x00login\x00-p\x00"),
			procArgs{exe: "/usr/bin/login", argv: []string{"login", "-p"}},
		},
		{
			"no arguments at all",
			procargs(0, "/bin/x\x00\x00\x00"),
			procArgs{exe: "/bin/x"},
		},
		{
			"the stand-in for a process that may not be read is one argument",
			procargs(1, "/usr/libexec/x\x00\x00/usr/libexec/x\x00"),
			procArgs{exe: "/usr/libexec/x", argv: []string{"/usr/libexec/x"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcArgs(tc.buf)
			if err != nil {
				t.Fatal(err)
			}
			if got.exe != tc.want.exe || !slices.Equal(got.argv, tc.want.argv) || !slices.Equal(got.env, tc.want.env) {
				t.Errorf("parseProcArgs = %+q, want %+q", got, tc.want)
			}
		})
	}
}

func TestParseProcArgsRefusesWhatDoesNotFitTheLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		buf  []byte
	}{
		{"an empty buffer has no argc", nil},
		{"a buffer shorter than argc", []byte{1, 0, 0}},
		{"a negative argc", procargs(0xffffffff, "/x\x00\x00a\x00")},
		{"an argc larger than the buffer could hold", procargs(1<<30, "/x\x00\x00a\x00")},
		{"an exec path without its NUL", procargs(0, "/bin/sleep")},
		{"fewer arguments than argc", procargs(3, "/x\x00\x00a\x00b\x00")},
		{"an argument cut off", procargs(2, "/x\x00\x00a\x00bc")},
		{"an environment string cut off", procargs(1, "/x\x00\x00a\x00HOME=/h")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := parseProcArgs(tc.buf); err == nil {
				t.Errorf("parseProcArgs(%q) = %+q, want an error", tc.buf, got)
			}
		})
	}
}

// FuzzParseProcArgs: the buffer comes from a process's own memory, so no
// content may panic the daemon, and what is returned stays within argc.
func FuzzParseProcArgs(f *testing.F) {
	f.Add(procargs(2, "/bin/sleep\x00\x00sleep\x00600\x00A=1\x00\x00"))
	f.Add(procargs(3, "/x\x00\x00a\x00b\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseProcArgs(b)
		if err != nil {
			return
		}
		if argc := binary.NativeEndian.Uint32(b); uint64(len(got.argv)) > uint64(argc) {
			t.Errorf("%d arguments for argc %d", len(got.argv), argc)
		}
	})
}
