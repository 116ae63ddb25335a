package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/internal/version"
	"github.com/hush-dev/hush/mcp"
)

func (a *app) mcpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve hush's MCP tools on stdio (add it to your agent as an MCP server)",
		Long: `Serve hush's MCP tools on stdin/stdout for an AI coding agent.

Tools: hush_get (returns only a line that sources a self-deleting script)
and hush_list (names only). No tool ever returns a value. Logs go to stderr;
stdout carries JSON-RPC only.

  claude mcp add hush -- hush mcp
  codex mcp add hush -- hush mcp`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(a.stderr, nil))
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			defer c.Close()
			b := mcp.New(c, s.paths.RuntimeDir, mcp.WithLogger(log), mcp.WithVersion(version.String()))
			return b.Serve(cmd.Context(), a.stdin, a.stdout)
		},
	}
}
