// Package detect decides whether a person or an agent is asking.
package detect

import (
	"context"
	"fmt"

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
	Signal string // e.g. "argv:claude (pid 4242)", "env:CLAUDECODE (pid 4242)", "tty (pid 4242, /dev/pts/3)"
}

// Signal is one way of recognising an agent behind a caller. Detect is given
// the caller's chain (the caller first, then its ancestors) and returns the
// agent's name and a one-line description of the evidence, or an empty
// agent when it sees none. An error means the evidence could not be read;
// the Detector then fails closed.
type Signal interface {
	Detect(ctx context.Context, chain []proctree.Process) (agent, signal string, err error)
}

// Detector classifies callers.
type Detector struct {
	root    int
	user    []Signature
	extra   []Signal
	signals []Signal
}

// Option configures a Detector.
type Option func(*Detector)

// WithRoot makes the walk stop below root: root and its ancestors are not
// examined. Tests use it so that their own ancestry (possibly a real agent)
// does not decide.
func WithRoot(pid int) Option {
	return func(d *Detector) { d.root = pid }
}

// WithSignatures adds signatures (typically the user's, from config). They
// are tried before the built-in ones, so they name the agent when both match.
func WithSignatures(sigs ...Signature) Option {
	return func(d *Detector) { d.user = append(d.user, sigs...) }
}

// WithSignal adds a signal, consulted after the built-in ones.
func WithSignal(s Signal) Option {
	return func(d *Detector) {
		if s != nil {
			d.extra = append(d.extra, s)
		}
	}
}

// New returns a Detector with the built-in signatures.
func New(opts ...Option) *Detector {
	d := &Detector{}
	for _, o := range opts {
		o(d)
	}
	m := newMatcher(append(append([]Signature(nil), d.user...), builtinSignatures...))
	d.signals = append([]Signal{
		ancestry{m},
		environment{m},
		session{m, d.root},
	}, d.extra...)
	return d
}

// Classify examines pid, its ancestors and its terminal session.
//
// Agent: any signal holds. Person: the caller has a controlling terminal and
// no signal holds. Unknown: neither. Any failure to read the evidence —
// including a process that vanished or a PID that was reused mid-walk — is
// an error, with a zero Verdict; callers must treat it as an agent.
func (d *Detector) Classify(ctx context.Context, pid int) (Verdict, []proctree.Process, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, nil, err
	}
	chain, err := proctree.Chain(pid, d.root)
	if err != nil {
		return Verdict{}, nil, fmt.Errorf("detect: %w", err)
	}
	v, err := d.decide(ctx, chain)
	if err != nil {
		return Verdict{}, chain, err
	}
	// The evidence took time to gather: it must still describe the caller.
	if err := chain[0].Alive(); err != nil {
		return Verdict{}, chain, fmt.Errorf("detect: %w", err)
	}
	return v, chain, nil
}

func (d *Detector) decide(ctx context.Context, chain []proctree.Process) (Verdict, error) {
	for _, s := range d.signals {
		if err := ctx.Err(); err != nil {
			return Verdict{}, err
		}
		agent, signal, err := s.Detect(ctx, chain)
		if err != nil {
			return Verdict{}, fmt.Errorf("detect: %w", err)
		}
		if agent != "" {
			return Verdict{Kind: Agent, Agent: agent, Signal: signal}, nil
		}
	}
	caller := chain[0]
	if caller.TTY != 0 {
		return Verdict{Kind: Person, Signal: fmt.Sprintf("tty (pid %d, %s)", caller.PID, proctree.TTYName(caller.TTY))}, nil
	}
	return Verdict{Kind: Unknown, Signal: "no terminal, no agent signal"}, nil
}
