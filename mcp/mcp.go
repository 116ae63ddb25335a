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
	"encoding/json"
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
	"github.com/hush-dev/hush/internal/termtext"
	"github.com/hush-dev/hush/internal/version"
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
		version:    version.String(),
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
	"hush_get never shows a value: it returns a line `source '…'` that loads the secret into a shell as an environment variable " +
	"(`. '…'` when its shell argument names a shell without source, such as sh or dash). " +
	"Run that line and the command that needs the secret in the same shell call: source '…' && your-command. " +
	"Never print, echo or log the variable."

// shells are the values hush_get's shell argument offers; handoff.ParseShell
// takes a few more spellings of the same shells.
var shells = []string{"posix", "bash", "zsh", "sh", "dash", "ash", "ksh", "mksh", "posh", "fish"}

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
		mcpgo.Enum(shells...),
		mcpgo.Description("The shell that will run the line. posix (the default), bash, zsh and fish get `source '<script>'`; "+
			"sh, dash, ash, ksh, mksh and posh, which have no source, get `. '<script>'`; fish also gets a script in fish syntax."),
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
	args, err := toolArgs(ToolGet, req)
	if err != nil {
		return toolError(err.Error(), nil), nil
	}
	account, err := args.str("account")
	if err != nil {
		return toolError(err.Error(), nil), nil
	}
	if account == "" {
		return toolError(ToolGet+": account is required: a secret's name or a prefix", nil), nil
	}
	shell, err := args.str("shell")
	if err != nil {
		return toolError(err.Error(), nil), nil
	}
	sh, loader := b.shell, handoff.Source
	if shell != "" {
		if sh, err = handoff.ParseShell(shell); err != nil {
			return toolError(fmt.Sprintf("%s %s: shell %s: use one of %s", ToolGet, secret.Quote(account), secret.Quote(shell), strings.Join(shells, ", ")), nil), nil
		}
		loader = handoff.LoaderFor(shell)
	}
	asFile, err := args.boolean("as_file")
	if err != nil {
		return toolError(err.Error(), nil), nil
	}

	res, err := b.fetch(ctx, account)
	if err != nil {
		b.log.Warn("hush_get failed", "account", secret.Shorten(account), "err", err)
		return toolError(fmt.Sprintf("%s %s: %v", ToolGet, secret.Quote(account), err), nil), nil
	}
	defer wipe(res.Secrets)

	line, vars, err := handoff.Deliver(b.runtimeDir, sh, res.Secrets, handoff.DeliverOptions{AsFile: asFile, Loader: loader})
	if err != nil {
		b.log.Warn("hush_get failed", "account", secret.Shorten(account), "err", err)
		return toolError(fmt.Sprintf("%s %s: %v", ToolGet, secret.Quote(account), err), res.Secrets), nil
	}
	b.log.Info("hush_get handed off", "account", account, "secrets", len(res.Secrets),
		"delivery", res.Delivery.String(), "as_file", asFile, "loader", loader.String())
	return mcpgo.NewToolResultText(line + "\n" + guidance(loader, vars)), nil
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
		return nil, fmt.Errorf("no secret is named %s and none is stored below it (%w); hush_list shows the names", secret.Quote(account), store.ErrNotFound)
	}
	return res, err
}

func guidance(l handoff.Loader, vars []string) string {
	return "Run it in the same shell call as the command that needs it: " + l.String() + " '…' && your-command " +
		"(the script deletes itself when sourced, and a new shell starts without it). " +
		"It sets " + strings.Join(vars, ", ") + "; do not print or echo the value."
}

func (b *Bridge) handleList(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	args, err := toolArgs(ToolList, req)
	if err != nil {
		return toolError(err.Error(), nil), nil
	}
	prefix, err := args.str("prefix")
	if err != nil {
		return toolError(err.Error(), nil), nil
	}
	infos, err := b.src.List(ctx, prefix)
	if err != nil {
		b.log.Warn("hush_list failed", "prefix", secret.Shorten(prefix), "err", err)
		return toolError(fmt.Sprintf("%s %s: %v", ToolList, secret.Quote(prefix), err), nil), nil
	}
	if len(infos) == 0 {
		if prefix == "" {
			return mcpgo.NewToolResultText("No secrets are stored."), nil
		}
		return mcpgo.NewToolResultText("No secrets are stored at or below " + prefix + "."), nil
	}
	var sb strings.Builder
	for _, in := range infos {
		sb.WriteString(termtext.Escape(in.GetName()))
		if env := in.GetEnvName(); env != "" {
			sb.WriteString("  (exports " + env + ")")
		} else {
			sb.WriteString("  (not exportable: the last segment is not a variable name)")
		}
		sb.WriteByte('\n')
	}
	return mcpgo.NewToolResultText(strings.TrimSuffix(sb.String(), "\n")), nil
}

// arguments are a tool call's arguments, read strictly. mcp-go's GetString
// and GetBool fall back to the default for a value of the wrong type, so
// {"prefix": 5} would list everything and {"shell": {}} would be ignored;
// here a wrong type is an error naming the argument and the type it needs.
// An absent argument, or JSON null, is the default.
type arguments struct {
	tool string
	m    map[string]any
}

// toolArgs takes the call's arguments, which must be an object if given.
func toolArgs(tool string, req mcpgo.CallToolRequest) (arguments, error) {
	m := req.GetArguments()
	if m == nil && req.Params.Arguments != nil {
		return arguments{}, fmt.Errorf("%s: the arguments must be an object, got %s", tool, jsonType(req.Params.Arguments))
	}
	return arguments{tool: tool, m: m}, nil
}

func (a arguments) str(key string) (string, error) {
	v, ok := a.m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: argument %s must be a string, got %s", a.tool, key, jsonType(v))
	}
	return s, nil
}

func (a arguments) boolean(key string) (bool, error) {
	v, ok := a.m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: argument %s must be a boolean (true or false), got %s", a.tool, key, jsonType(v))
	}
	return b, nil
}

// jsonType names the JSON type of a decoded value, never the value itself.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
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
