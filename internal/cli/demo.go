package cli

import (
	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/internal/demo"
)

func (a *app) demoCommand() *cobra.Command {
	var agentDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show the main job end to end on a throwaway vault (needs node and npm)",
		Long: `Run the main job on a throwaway file vault: start a daemon, store a demo
secret, let an agent-like process (named claude, driving 'hush mcp' through the
official MCP TypeScript SDK) load it, use it against a local HTTP endpoint,
and show that the value never reached the agent's transcript and that the
handoff script is gone. Run it from the repository (it uses e2e/).`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return demo.Run(cmd.Context(), a.stdout, demo.Options{AgentDir: agentDir})
		},
	}
	cmd.Flags().StringVar(&agentDir, "agent-dir", "", "the agent's node package (default: e2e/ of the repository)")
	return cmd
}
