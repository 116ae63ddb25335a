// Package version says which hush this is, the same way everywhere: the
// CLI's --version, the daemon's Status and the MCP handshake.
package version

import "runtime/debug"

// Override is set at build time with
// -ldflags "-X github.com/hush-dev/hush/internal/version.Override=v1.2.3".
var Override = ""

// String is Override if set, else the module version the Go toolchain
// recorded (a tag, or a pseudo-version from the commit), else "dev".
func String() string {
	if Override != "" {
		return Override
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
