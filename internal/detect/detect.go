// Package detect decides whether a person or an agent is asking.
package detect

import (
	"context"

	"github.com/hush-dev/hush/internal/proctree"
)

// Kind is the verdict's kind.
type Kind int

const (
	Unknown Kind = iota // no terminal, no agent signal
	Person
	Agent
)

func (k Kind) String() string {
	switch k {
	case Person:
		return "person"
	case Agent:
		return "agent"
	}
	return "unknown"
}

// Verdict is who is asking and the signal that decided it.
type Verdict struct {
	Kind   Kind
	Agent  string // the agent's name when Kind == Agent
	Signal string // e.g. "argv:claude (pid 4242)", "env:CLAUDECODE (pid 4242)", "tty:/dev/pts/3"
}

// Detector classifies callers.
type Detector struct{}

// Option configures a Detector.
type Option func(*Detector)

// WithRoot makes the walk stop below root: root and its ancestors are not
// examined. Tests use it so that their own ancestry (possibly a real agent)
// does not decide.
func WithRoot(pid int) Option { panic("TODO") }

// New returns a Detector with the built-in signatures.
func New(opts ...Option) *Detector { panic("TODO") }

// Classify examines pid, its ancestors and its terminal session.
func (d *Detector) Classify(ctx context.Context, pid int) (Verdict, []proctree.Process, error) {
	panic("TODO")
}
