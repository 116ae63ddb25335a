// Package cli is the hush command line.
package cli

// Main runs hush with args and returns the exit code.
func Main(args []string) int { panic("TODO") }
