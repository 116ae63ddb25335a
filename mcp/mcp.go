// Package mcp is hush's stdio MCP bridge: the tools an agent calls to load
// secrets into its shell without the values entering its context.
//
// No tool returns a value, whatever the daemon decided about the caller: a
// person who runs `hush mcp` by hand gets handoff scripts too. Stdout
// carries JSON-RPC and nothing else; every log line goes to the injected
// slog logger (stderr in `hush mcp`).
package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Source is what the bridge needs from the daemon. *client.Client is one;
// its errors follow client's contract (store.ErrNotFound for an unknown
// name, secret.ErrInvalidName, client.ErrDenied, …).
type Source interface {
	Get(ctx context.Context, name string) (*client.Result, error)
	GetPrefix(ctx context.Context, prefix string) (*client.Result, error)
	List(ctx context.Context, prefix string) ([]*hushv1.SecretInfo, error)
}

var _ Source = (*client.Client)(nil)

// Tool names, as agents see them.
const (
	ToolGet  = "hush_get"
	ToolList = "hush_list"
)

// Bridge serves hush's MCP tools over stdio.
type Bridge struct {
	src        Source
	runtimeDir string
	log        *slog.Logger
	version    string
	shell      handoff.Shell
	srv        *mcpserver.MCPServer
}

// Option configures a Bridge.
type Option func(*Bridge)

// WithLogger sets where the bridge and mcp-go log. It must not write to the
// JSON-RPC stream; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(b *Bridge) {
		if l != nil {
			b.log = l
		}
	}
}

// WithVersion is the version reported in the MCP handshake.
func WithVersion(v string) Option {
	return func(b *Bridge) {
		if v != "" {
			b.version = v
		}
	}
}

// WithDefaultShell sets the dialect used when a hush_get call names none.
// The default is POSIX: the bridge cannot see which shell the agent will
// run the line in (the agent's own $SHELL or ancestry says little about its
// tool shell), so it picks the dialect nearly every agent's shell speaks and
// lets the agent ask for fish.
func WithDefaultShell(sh handoff.Shell) Option {
	return func(b *Bridge) { b.shell = sh }
}

// New returns a bridge that fetches from src and writes handoff scripts
// into runtimeDir (hush's private runtime dir, which the daemon reaps).
func New(src Source, runtimeDir string, opts ...Option) *Bridge {
	b := &Bridge{
		src:        src,
		runtimeDir: runtimeDir,
		log:        slog.New(slog.DiscardHandler),
		version:    "dev",
		shell:      handoff.POSIX,
	}
	for _, o := range opts {
		o(b)
	}
	b.srv = mcpserver.NewMCPServer("hush", b.version,
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithRecovery(),
		mcpserver.WithInstructions(instructions),
	)
	b.srv.AddTool(getTool, b.handleGet)
	b.srv.AddTool(listTool, b.handleList)
	return b
}

const instructions = "hush keeps the user's secrets (API keys, tokens). " +
	"hush_get never shows a value: it returns a line `source '…'` that loads the secret into a shell as an environment variable. " +
	"Run that line and the command that needs the secret in the same shell call: source '…' && your-command. " +
	"Never print, echo or log the variable."

var getTool = mcpgo.NewTool(ToolGet,
	mcpgo.WithDescription("Load a secret (or every secret below a prefix) into your shell without seeing its value. "+
		"Returns only a line `source '<script>'` and how to use it. The script exports each secret as an environment "+
		"variable named after the last segment of its name (org/api/STRIPE_KEY exports STRIPE_KEY) and deletes itself "+
		"when sourced, so chain it: source '<script>' && your-command."),
	mcpgo.WithString("account",
		mcpgo.Required(),
		mcpgo.Description("A secret's full name (org/api/STRIPE_KEY), or a prefix (org/api) to load every secret below it. An exact name wins; end with a slash (org/api/) to ask for the prefix only."),
	),
	mcpgo.WithString("shell",
		mcpgo.Enum("posix", "fish"),
		mcpgo.Description("The shell that will run the source line: posix (bash, zsh, ksh; the default; in sh or dash write `. '<script>'` instead of source) or fish."),
	),
	mcpgo.WithBoolean("as_file",
		mcpgo.Description("For tools that want a file: each secret goes into its own private file, and the script exports NAME_FILE with that file's path instead of NAME with the value. The files are removed after the handoff TTL."),
	),
	mcpgo.WithReadOnlyHintAnnotation(false),
	mcpgo.WithDestructiveHintAnnotation(false),
	mcpgo.WithIdempotentHintAnnotation(false),
	mcpgo.WithOpenWorldHintAnnotation(false),
)

var listTool = mcpgo.NewTool(ToolList,
	mcpgo.WithDescription("List the names of stored secrets (never values), with the environment variable each exports as."),
	mcpgo.WithString("prefix",
		mcpgo.Description("Only names at or below this prefix (org/api). Empty lists everything."),
	),
	mcpgo.WithReadOnlyHintAnnotation(true),
	mcpgo.WithDestructiveHintAnnotation(false),
	mcpgo.WithIdempotentHintAnnotation(true),
	mcpgo.WithOpenWorldHintAnnotation(false),
)

// Serve answers MCP requests read from in, writing JSON-RPC to out, until in
// ends or ctx is done. Both endings are a clean stop.
func (b *Bridge) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	s := mcpserver.NewStdioServer(b.srv)
	// mcp-go's default error logger writes to os.Stderr directly; route it
	// through the injected logger so the caller decides.
	s.SetErrorLogger(slog.NewLogLogger(b.log.Handler(), slog.LevelError))
	err := s.Listen(ctx, in, out)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

func (b *Bridge) handleGet(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	account, err := req.RequireString("account")
	if err != nil || account == "" {
		return toolError(ToolGet+": account is required: a secret's name or a prefix", nil), nil
	}
	sh := b.shell
	if s := req.GetString("shell", ""); s != "" {
		if sh, err = handoff.ParseShell(s); err != nil {
			return toolError(fmt.Sprintf("%s %s: shell %q: use posix or fish", ToolGet, account, s), nil), nil
		}
	}
	asFile := req.GetBool("as_file", false)

	res, err := b.fetch(ctx, account)
	if err != nil {
		b.log.Warn("hush_get failed", "account", account, "err", err)
		return toolError(fmt.Sprintf("%s %s: %v", ToolGet, account, err), nil), nil
	}
	defer wipe(res.Secrets)

	line, vars, err := handoff.Deliver(b.runtimeDir, sh, res.Secrets, handoff.DeliverOptions{AsFile: asFile})
	if err != nil {
		b.log.Warn("hush_get failed", "account", account, "err", err)
		return toolError(fmt.Sprintf("%s %s: %v", ToolGet, account, err), res.Secrets), nil
	}
	b.log.Info("hush_get handed off", "account", account, "secrets", len(res.Secrets),
		"delivery", res.Delivery.String(), "as_file", asFile)
	return mcpgo.NewToolResultText(line + "\n" + guidance(vars)), nil
}

// fetch applies the one rule for account: an exact name first, else every
// secret below it as a prefix. A trailing slash ("org/api/") says prefix
// outright, even when a secret has the name without it.
func (b *Bridge) fetch(ctx context.Context, account string) (*client.Result, error) {
	if strings.HasSuffix(account, "/") {
		return b.prefix(ctx, account)
	}
	res, err := b.src.Get(ctx, account)
	if err == nil {
		return res, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return b.prefix(ctx, account)
}

func (b *Bridge) prefix(ctx context.Context, account string) (*client.Result, error) {
	res, err := b.src.GetPrefix(ctx, account)
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(res.Secrets) == 0) {
		if err == nil {
			wipe(res.Secrets)
		}
		return nil, fmt.Errorf("no secret is named %s and none is stored below it (%w); hush_list shows the names", account, store.ErrNotFound)
	}
	return res, err
}

func guidance(vars []string) string {
	return "Run it in the same shell call as the command that needs it: source '…' && your-command " +
		"(the script deletes itself when sourced, and a new shell starts without it). " +
		"It sets " + strings.Join(vars, ", ") + "; do not print or echo the value."
}

func (b *Bridge) handleList(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	prefix := req.GetString("prefix", "")
	infos, err := b.src.List(ctx, prefix)
	if err != nil {
		b.log.Warn("hush_list failed", "prefix", prefix, "err", err)
		return toolError(fmt.Sprintf("%s %s: %v", ToolList, prefix, err), nil), nil
	}
	if len(infos) == 0 {
		if prefix == "" {
			return mcpgo.NewToolResultText("No secrets are stored."), nil
		}
		return mcpgo.NewToolResultText("No secrets are stored at or below " + prefix + "."), nil
	}
	var sb strings.Builder
	for _, in := range infos {
		sb.WriteString(in.GetName())
		if env := in.GetEnvName(); env != "" {
			sb.WriteString("  (exports " + env + ")")
		} else {
			sb.WriteString("  (not exportable: the last segment is not a variable name)")
		}
		sb.WriteByte('\n')
	}
	return mcpgo.NewToolResultText(strings.TrimSuffix(sb.String(), "\n")), nil
}

// toolError makes the one-line error an agent sees. Errors name secrets and
// never carry values, but the opened values are checked anyway, because
// this text goes straight into the agent's context.
func toolError(msg string, opened []secret.Secret) *mcpgo.CallToolResult {
	for _, s := range opened {
		if len(s.Value) > 0 {
			msg = strings.ReplaceAll(msg, string(s.Value), "[redacted]")
		}
	}
	return mcpgo.NewToolResultError(strings.Join(strings.Fields(msg), " "))
}

// wipe clears opened values once they are in the script, so they do not
// linger in this long-lived process's heap.
func wipe(secrets []secret.Secret) {
	for i := range secrets {
		clear(secrets[i].Value)
	}
}
