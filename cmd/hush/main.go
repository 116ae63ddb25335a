// Command hush keeps secrets and hands them to AI coding agents without the
// value entering the agent's context.
package main

import (
	"os"

	"github.com/hush-dev/hush/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
