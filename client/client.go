// Package client talks to the daemon: dialing (and auto-starting) it, and
// Get/GetPrefix that make an ephemeral key and open the sealed reply. Used by
// the CLI and the MCP bridge.
package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hush-dev/hush/internal/config"
	"github.com/hush-dev/hush/internal/seal"
	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Errors the daemon's status codes translate back to (see also
// store.ErrNotFound, store.ErrLocked, store.ErrBadPassphrase,
// secret.ErrInvalidName, secret.ErrInvalidValue).
var (
	ErrUnreachable = errors.New("daemon unreachable")
	// ErrNoDaemon: nothing listens on the socket (and Dial was not asked to
	// start a daemon). It comes wrapped with ErrUnreachable.
	ErrNoDaemon = errors.New("no hush daemon answers")
	ErrDenied   = errors.New("denied by policy")
)

// maxMessageSize is the daemon's bound on one request or reply.
const maxMessageSize = 64 << 20

// Defaults for waiting on a daemon.
const (
	probeTimeout     = time.Second
	autostartTimeout = 5 * time.Second
	pollInterval     = 20 * time.Millisecond
)

// Client is a connection to the daemon.
type Client struct {
	socket       string
	exe          string
	args         []string
	logFile      string
	startTimeout time.Duration

	conn    *grpc.ClientConn
	secrets hushv1.SecretServiceClient
	admin   hushv1.AdminServiceClient
}

// Option configures Dial.
type Option func(*Client)

// WithSocket is the daemon's socket; by default config.DefaultPaths().Socket.
func WithSocket(path string) Option { return func(c *Client) { c.socket = path } }

// WithAutostart starts `hush daemon` (exe, args) when nobody answers.
func WithAutostart(exe string, args ...string) Option {
	return func(c *Client) { c.exe, c.args = exe, args }
}

// WithLogFile is where an autostarted daemon's stdout and stderr are
// appended; without it they are discarded.
func WithLogFile(path string) Option { return func(c *Client) { c.logFile = path } }

// WithStartTimeout bounds the wait for an autostarted daemon (default 5 s).
func WithStartTimeout(d time.Duration) Option { return func(c *Client) { c.startTimeout = d } }

// Dial connects to the daemon.
func Dial(ctx context.Context, opts ...Option) (*Client, error) {
	c := &Client{startTimeout: autostartTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.socket == "" {
		paths, err := config.DefaultPaths()
		if err != nil {
			return nil, err
		}
		c.socket = paths.Socket
	}
	if err := probe(ctx, c.socket); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w: %s: permission denied; the socket belongs to another user (set HUSH_SOCKET to your own)", ErrUnreachable, c.socket)
		}
		if c.exe == "" {
			return nil, fmt.Errorf("%w: %w on %s; start one with 'hush daemon' (other commands start it themselves unless HUSH_NO_AUTOSTART=1)", ErrUnreachable, ErrNoDaemon, c.socket)
		}
		if err := c.autostart(ctx); err != nil {
			return nil, err
		}
	}
	socket := c.socket
	conn, err := grpc.NewClient("passthrough:///hush",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// As the daemon's bound (server.MaxMessageSize), which the client
		// does not import: large imports and prefixes fit in one message.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	c.conn = conn
	c.secrets = hushv1.NewSecretServiceClient(conn)
	c.admin = hushv1.NewAdminServiceClient(conn)
	return c, nil
}

// probe connects to socket once, to learn whether anyone answers.
func probe(ctx context.Context, socket string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return err
	}
	return conn.Close()
}

func answers(ctx context.Context, socket string) bool { return probe(ctx, socket) == nil }

// autostart runs the daemon detached from us (its own session, no
// terminal, stdin from /dev/null) and waits for its socket to answer.
func (c *Client) autostart(ctx context.Context) error {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer devnull.Close()
	out := devnull
	logNote := ""
	if c.logFile != "" {
		if err := os.MkdirAll(filepath.Dir(c.logFile), 0o700); err != nil {
			return fmt.Errorf("%w: create the daemon log's dir: %v", ErrUnreachable, err)
		}
		f, err := os.OpenFile(c.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("%w: open daemon log: %v", ErrUnreachable, err)
		}
		defer f.Close()
		out = f
		logNote = "; see " + c.logFile
	}
	cmd := exec.Command(c.exe, c.args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start %s: %v", ErrUnreachable, c.exe, err)
	}
	// Reap it if it exits while we live (a lost race to another daemon, a
	// vault it cannot open), and learn of that exit early.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.NewTimer(c.startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if answers(ctx, c.socket) {
			return nil
		}
		select {
		case err := <-exited:
			// It may have lost a start race to another daemon that now answers.
			if answers(ctx, c.socket) {
				return nil
			}
			return fmt.Errorf("%w: the daemon started as %s exited before answering (%v)%s", ErrUnreachable, c.exe, err, logNote)
		case <-deadline.C:
			return fmt.Errorf("%w: the daemon started as %s did not answer on %s within %s%s", ErrUnreachable, c.exe, c.socket, c.startTimeout, logNote)
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrUnreachable, ctx.Err())
		case <-tick.C:
		}
	}
}

// Close ends the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Result is an opened Get or GetPrefix reply.
type Result struct {
	Delivery hushv1.Delivery
	Caller   *hushv1.Caller
	Secrets  []secret.Secret
}

// Get asks for one secret, sealed to a key made for this call only.
func (c *Client) Get(ctx context.Context, name string) (*Result, error) {
	o, err := seal.NewOpener()
	if err != nil {
		return nil, err
	}
	resp, err := c.secrets.Get(ctx, &hushv1.GetRequest{Name: name, Recipient: o.Recipient()})
	if err != nil {
		return nil, fromStatus(err)
	}
	s, err := o.OpenName(resp.GetSealed(), name)
	if err != nil {
		return nil, err
	}
	return &Result{Delivery: resp.GetDelivery(), Caller: resp.GetCaller(), Secrets: []secret.Secret{s}}, nil
}

// GetPrefix asks for every secret at or below prefix, sorted by name.
func (c *Client) GetPrefix(ctx context.Context, prefix string) (*Result, error) {
	o, err := seal.NewOpener()
	if err != nil {
		return nil, err
	}
	resp, err := c.secrets.GetPrefix(ctx, &hushv1.GetPrefixRequest{Prefix: prefix, Recipient: o.Recipient()})
	if err != nil {
		return nil, fromStatus(err)
	}
	secrets, err := o.OpenPrefix(resp.GetSealed(), prefix)
	if err != nil {
		return nil, err
	}
	return &Result{Delivery: resp.GetDelivery(), Caller: resp.GetCaller(), Secrets: secrets}, nil
}

// Set returns the daemon's warning, if any.
func (c *Client) Set(ctx context.Context, name string, value []byte) (string, error) {
	resp, err := c.secrets.Set(ctx, &hushv1.SetRequest{Name: name, Value: value})
	if err != nil {
		return "", fromStatus(err)
	}
	return resp.GetWarning(), nil
}

// SetMany stores secrets as one change: the daemon checks every name and
// value and authorizes every write before it stores any (see the
// SecretService.SetMany contract). It returns the daemon's warnings.
func (c *Client) SetMany(ctx context.Context, secrets []secret.Secret) ([]string, error) {
	req := &hushv1.SetManyRequest{Entries: make([]*hushv1.SetManyRequest_Entry, 0, len(secrets))}
	for _, s := range secrets {
		req.Entries = append(req.Entries, &hushv1.SetManyRequest_Entry{Name: s.Name, Value: s.Value})
	}
	resp, err := c.secrets.SetMany(ctx, req)
	if err != nil {
		return nil, fromStatus(err)
	}
	return resp.GetWarnings(), nil
}

// Delete removes a secret.
func (c *Client) Delete(ctx context.Context, name string) error {
	_, err := c.secrets.Delete(ctx, &hushv1.DeleteRequest{Name: name})
	return fromStatus(err)
}

// List returns the names at or below prefix, sorted.
func (c *Client) List(ctx context.Context, prefix string) ([]*hushv1.SecretInfo, error) {
	resp, err := c.secrets.List(ctx, &hushv1.ListRequest{Prefix: prefix})
	if err != nil {
		return nil, fromStatus(err)
	}
	return resp.GetSecrets(), nil
}

// Status reports the daemon's state.
func (c *Client) Status(ctx context.Context) (*hushv1.StatusResponse, error) {
	resp, err := c.admin.Status(ctx, &hushv1.StatusRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	return resp, nil
}

// Unlock opens a passphrase-protected vault.
func (c *Client) Unlock(ctx context.Context, passphrase []byte) error {
	_, err := c.admin.Unlock(ctx, &hushv1.UnlockRequest{Passphrase: passphrase})
	return fromStatus(err)
}

// Lock makes the daemon forget the vault key.
func (c *Client) Lock(ctx context.Context) error {
	_, err := c.admin.Lock(ctx, &hushv1.LockRequest{})
	return fromStatus(err)
}

// Stop asks the daemon to exit cleanly; it returns once the daemon agreed.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.admin.Stop(ctx, &hushv1.StopRequest{})
	return fromStatus(err)
}
