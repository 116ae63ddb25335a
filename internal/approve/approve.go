// Package approve asks a person before an agent gets a secret: the Touch
// ID step. An Approver asks once; a Gate keeps the grants so that one
// agent session asks once per prefix, and never makes one caller wait for
// another's question.
package approve

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hush-dev/hush/internal/termtext"
)

// Errors an Approver returns besides nil (approved).
var (
	// ErrDenied: not approved. A person declined, or there is nobody to ask.
	ErrDenied = errors.New("approval denied")
	// ErrTimeout: nobody answered in time.
	ErrTimeout = errors.New("approval timed out")
)

// Approver asks a person whether to let a request through.
//
// Approve returns nil when the person approved, an error wrapping
// ErrDenied when they declined (or nobody can be asked), one wrapping
// ErrTimeout when nobody answered before ctx ended, and any other error
// when the question could not be asked at all (a missing program, a broken
// dialog). Only nil approves. Approve must return soon after ctx ends.
type Approver interface {
	Approve(ctx context.Context, r Request) error
}

// Session is one agent session: its root process, by PID and start time
// so that a reused PID is another session. The zero Session is no session
// at all: nothing is granted to it for later.
type Session struct {
	PID   int
	Start uint64
}

// Request is one question. It holds names and processes, never a value.
type Request struct {
	// Session the grant would cover.
	Session Session
	// Who is asking, e.g. "agent claude, by comm:claude (pid 4242)".
	Who string
	// Target is the secret, or with Prefix the prefix, asked for.
	Target string
	Prefix bool
	// Chain is the caller's process chain, e.g. "hush(4301) < bash(4290) < claude(4242)".
	Chain string
	// Rule is the policy rule that asks, e.g. `"org/prod" (agent = confirm)`.
	Rule string
}

// What names the target for a person: `the secret "org/prod/KEY"` or
// `the secrets under "org/prod"`.
func (r Request) What() string {
	switch {
	case r.Prefix && r.Target == "":
		return "every secret"
	case r.Prefix:
		return fmt.Sprintf("the secrets under %q", r.Target)
	}
	return fmt.Sprintf("the secret %q", r.Target)
}

// Description is the text a person reads before answering. Its only line
// breaks are its own: a process names itself, so every field is escaped.
func (r Request) Description() string {
	var b strings.Builder
	who := termtext.Escape(r.Who)
	if who == "" {
		who = "a caller"
	}
	fmt.Fprintf(&b, "hush: %s asks for %s.\n", who, r.What())
	if r.Chain != "" {
		fmt.Fprintf(&b, "Process chain: %s\n", termtext.Escape(r.Chain))
	}
	if r.Rule != "" {
		fmt.Fprintf(&b, "Policy rule: %s\n", termtext.Escape(r.Rule))
	}
	b.WriteString("Allow it for this session?")
	return b.String()
}

// None asks nobody, so nothing is approved.
type None struct{}

var _ Approver = None{}

// Approve always declines.
func (None) Approve(context.Context, Request) error {
	return fmt.Errorf("%w: no approver is configured ([approval] method = \"none\")", ErrDenied)
}
