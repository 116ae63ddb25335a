package detect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/termtext"
)

// ancestry recognises an agent by the names, executables and arguments of
// the caller and its ancestors.
type ancestry struct{ m *matcher }

func (a ancestry) Detect(_ context.Context, chain []proctree.Process) (string, string, error) {
	for _, p := range chain {
		if agent, evidence := a.m.byName(p); agent != "" {
			return agent, pidSignal(evidence, p.PID), nil
		}
	}
	return "", "", nil
}

// environment recognises an agent by the markers it leaves in the
// environment of the caller or of an ancestor, which survive a renamed
// binary and are inherited by everything the agent starts.
type environment struct{ m *matcher }

func (e environment) Detect(ctx context.Context, chain []proctree.Process) (string, string, error) {
	for _, p := range chain {
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
		env, err := p.Environ()
		if errors.Is(err, fs.ErrPermission) {
			// Other users' processes (login, sudo) and non-dumpable ones
			// (sshd's session process, gpg-agent) keep their environment to
			// themselves. That hides only their own: dumpability is reset at
			// exec, so whatever they pass down is readable in their
			// descendants, the caller included.
			continue
		}
		if err != nil {
			// The error becomes the caller's signal: shown, logged, sent.
			return "", "", fmt.Errorf("environment of pid %d (%s): %w", p.PID, termtext.Escape(p.Comm), err)
		}
		if agent, evidence := e.m.byEnv(env); agent != "" {
			return agent, pidSignal(evidence, p.PID), nil
		}
	}
	return "", "", nil
}

// session recognises a live agent in the caller's session: a double fork
// re-parents the caller away from the agent, but it keeps the session (and
// the terminal) the agent gave it.
type session struct {
	m    *matcher
	root int
}

func (s session) Detect(ctx context.Context, chain []proctree.Process) (string, string, error) {
	sid := chain[0].SID
	// The scan reads every process on the machine, so it runs only where it
	// can change the verdict: the signals before it found nothing, and the
	// caller has a terminal, without which it is Unknown and already gets
	// what an agent gets by default. An agent's re-parented child keeps the
	// agent's terminal along with its session, which is what this catches.
	if sid <= 0 || chain[0].TTY == 0 {
		return "", "", nil
	}
	// The chain was examined already; only the other members are read.
	members, err := proctree.SessionOthers(sid, s.root, chain)
	if err != nil {
		return "", "", fmt.Errorf("session %d: %w", sid, err)
	}
	found := func(agent string, p proctree.Process) (string, string, error) {
		return agent, fmt.Sprintf("session:%s (pid %d, sid %d)", agent, p.PID, sid), nil
	}
	for _, p := range members {
		if agent, _ := s.m.byName(p); agent != "" {
			return found(agent, p)
		}
	}
	for _, p := range members {
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
		// A member that left or is not ours to read is no evidence either way.
		env, err := p.Environ()
		if err != nil {
			continue
		}
		if agent, _ := s.m.byEnv(env); agent != "" {
			return found(agent, p)
		}
	}
	return "", "", nil
}
