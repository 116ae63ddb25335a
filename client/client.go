// Package client talks to the daemon: dialing (and auto-starting) it, and
// Get/GetPrefix that make an ephemeral key and open the sealed reply. Used by
// the CLI and the MCP bridge.
package client

import (
	"context"
	"errors"

	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Errors the daemon's status codes translate back to (see also
// store.ErrNotFound, store.ErrLocked, store.ErrBadPassphrase,
// secret.ErrInvalidName, secret.ErrInvalidValue).
var (
	ErrUnreachable = errors.New("daemon unreachable")
	ErrDenied      = errors.New("denied by policy")
)

// Client is a connection to the daemon.
type Client struct{}

// Option configures Dial.
type Option func(*Client)

func WithSocket(path string) Option { panic("TODO") }

// WithAutostart starts `hush daemon` (exe, args) when nobody answers.
func WithAutostart(exe string, args ...string) Option { panic("TODO") }

// Dial connects to the daemon.
func Dial(ctx context.Context, opts ...Option) (*Client, error) { panic("TODO") }

func (c *Client) Close() error { panic("TODO") }

// Result is an opened Get or GetPrefix reply.
type Result struct {
	Delivery hushv1.Delivery
	Caller   *hushv1.Caller
	Secrets  []secret.Secret
}

func (c *Client) Get(ctx context.Context, name string) (*Result, error)         { panic("TODO") }
func (c *Client) GetPrefix(ctx context.Context, prefix string) (*Result, error) { panic("TODO") }

// Set returns the daemon's warning, if any.
func (c *Client) Set(ctx context.Context, name string, value []byte) (string, error) { panic("TODO") }
func (c *Client) Delete(ctx context.Context, name string) error                      { panic("TODO") }
func (c *Client) List(ctx context.Context, prefix string) ([]*hushv1.SecretInfo, error) {
	panic("TODO")
}
func (c *Client) Status(ctx context.Context) (*hushv1.StatusResponse, error) { panic("TODO") }
func (c *Client) Unlock(ctx context.Context, passphrase []byte) error        { panic("TODO") }
func (c *Client) Lock(ctx context.Context) error                             { panic("TODO") }
func (c *Client) Stop(ctx context.Context) error                             { panic("TODO") }
