// Package reliability holds hush's whole-system tests: the daemon killed
// with SIGKILL in the middle of writes, a hundred clients at once, a long
// load, and the MCP round trip benchmark. It has no code of its own.
//
// The test binary plays the hush command (see TestMain), so the daemon
// under test is built with the same flags as the tests, -race included.
// HUSH_SOAK=1 (make soak) runs the long variants.
package reliability
