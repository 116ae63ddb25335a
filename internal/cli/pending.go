package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// TEMPORARY until internal/run, internal/mask and internal/demo land.
func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{Use: "demo", RunE: func(*cobra.Command, []string) error { return errors.New("demo: not wired yet") }}
}
