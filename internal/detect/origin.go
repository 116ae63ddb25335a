package detect

import (
	"context"
	"errors"
	"fmt"

	"github.com/hush-dev/hush/internal/proctree"
)

// Origin returns the agent process behind a caller's chain: the one an
// approval grant is bound to, so that every tool call of one agent session
// shares it and a new session does not. It is, in order:
//
//   - the outermost process of the chain that is an agent by name;
//   - else the parent of the outermost process carrying an agent marker
//     (the agent that set it for the commands it runs), or that process
//     itself when its parent lies beyond the walk;
//   - else a live agent in the caller's session, by name, then by marker.
//
// ok is false when none is found. Errors are as in Classify.
func (d *Detector) Origin(ctx context.Context, chain []proctree.Process) (p proctree.Process, ok bool, err error) {
	if len(chain) == 0 {
		return proctree.Process{}, false, nil
	}
	m := newMatcher(append(append([]Signature(nil), d.user...), builtinSignatures...))
	for i := len(chain) - 1; i >= 0; i-- {
		if agent, _ := m.byName(chain[i]); agent != "" {
			return chain[i], true, nil
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return proctree.Process{}, false, err
		}
		env, err := chain[i].Environ()
		if err != nil {
			// As in the environment signal: an unreadable environment is no
			// evidence; a vanished process fails.
			if errors.Is(err, proctree.ErrVanished) {
				return proctree.Process{}, false, fmt.Errorf("detect: %w", err)
			}
			continue
		}
		if agent, _ := m.byEnv(env); agent != "" {
			if i+1 < len(chain) {
				return chain[i+1], true, nil
			}
			return chain[i], true, nil
		}
	}
	sid := chain[0].SID
	if sid <= 0 {
		return proctree.Process{}, false, nil
	}
	members, err := proctree.Session(sid, d.root)
	if err != nil {
		return proctree.Process{}, false, fmt.Errorf("detect: session %d: %w", sid, err)
	}
	for _, p := range members {
		if agent, _ := m.byName(p); agent != "" {
			return p, true, nil
		}
	}
	for _, p := range members {
		if env, err := p.Environ(); err == nil {
			if agent, _ := m.byEnv(env); agent != "" {
				return p, true, nil
			}
		}
	}
	return proctree.Process{}, false, nil
}
