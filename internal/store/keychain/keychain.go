// Package keychain keeps secrets in the macOS login keychain as generic
// passwords: service "hush", account = the secret's name, label
// "hush: NAME", so Keychain Access and `security find-generic-password -s
// hush -a NAME` find them.
//
// The backend needs macOS and a cgo build (it calls the Security
// framework through github.com/keybase/go-keychain). Elsewhere Open returns
// ErrUnavailable, so the rest of hush builds everywhere.
package keychain

import (
	"errors"
	"time"
)

// ErrUnavailable: this build of hush has no keychain backend.
var ErrUnavailable = errors.New("keychain: the macOS keychain backend needs macOS and a cgo build; set backend = \"file\"")

// DefaultService is the keychain service every hush item carries.
const DefaultService = "hush"

// DefaultTimeout bounds each keychain call. A call can wait on a
// permission dialog ("hush wants to use your confidential information"),
// which a person answers in seconds or not at all.
const DefaultTimeout = 30 * time.Second

type options struct {
	service string
	timeout time.Duration
}

// Option configures Open.
type Option func(*options)

// WithService files items under another service name (tests use a fresh
// one so they never touch a person's real secrets).
func WithService(service string) Option { return func(o *options) { o.service = service } }

// WithTimeout bounds each keychain call (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

func buildOptions(opts []Option) options {
	o := options{service: DefaultService, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
