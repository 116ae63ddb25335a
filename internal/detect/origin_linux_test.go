package detect_test

import (
	"context"
	"os"
	"testing"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/proctree/proctreetest"
)

// TestOrigin checks the process an approval grant is bound to: the same
// for every call of one agent session, and the agent itself.
func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name string
		// build starts the tree and returns the caller and the process
		// that must be its origin (0: none).
		build func(tr *tree) (caller, origin int)
	}{
		{"an agent by name is the origin", func(tr *tree) (int, int) {
			agent := tr.start(sh(tr.install("bin/claude", true), tr.caller.Command+" & wait"), false)
			return tr.caller.Wait(tr.t), agent.Process.Pid
		}},
		{"of nested agents, the outermost is the origin", func(tr *tree) (int, int) {
			inner := tr.install("bin/codex-x86_64-unknown-linux-musl", true)
			outer := tr.start(sh(tr.install("bin/codex", true), inner+" -c "+proctreetest.Quote(tr.caller.Command+" & wait")+" & wait"), false)
			return tr.caller.Wait(tr.t), outer.Process.Pid
		}},
		{"a process that sets a marker for its children is the origin", func(tr *tree) (int, int) {
			// The outer shell stands for a renamed agent: no name, no marker
			// of its own, but every command it runs carries CLAUDECODE.
			agent := tr.start(sh("/bin/sh", "CLAUDECODE=1 /bin/sh -c "+proctreetest.Quote(tr.caller.Command+" & wait")+" & wait"), false)
			return tr.caller.Wait(tr.t), agent.Process.Pid
		}},
		{"a re-parented caller's origin is the agent in its session", func(tr *tree) (int, int) {
			agent := tr.start(sh(tr.install("bin/claude", true), "( "+tr.caller.Command+" & ); "+tr.keepAlive()), true)
			pid := tr.caller.Wait(tr.t)
			tr.orphaned(pid, agent.Process.Pid)
			return pid, agent.Process.Pid
		}},
		{"a person has none", func(tr *tree) (int, int) {
			tr.start(sh("/bin/sh", tr.caller.Command+"; true"), true)
			return tr.caller.Wait(tr.t), 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t)
			caller, want := tc.build(tr)
			d := detect.New(detect.WithRoot(os.Getpid()))
			_, chain, err := d.Classify(context.Background(), caller)
			if err != nil {
				t.Fatal(err)
			}
			p, ok, err := d.Origin(context.Background(), chain)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case want == 0 && ok:
				t.Errorf("Origin = pid %d (%s), want none", p.PID, p.Comm)
			case want != 0 && (!ok || p.PID != want):
				t.Errorf("Origin = pid %d (%s), %v; want pid %d\nchain: %s", p.PID, p.Comm, ok, want, describe(chain))
			}
			if ok {
				if q, err := proctree.Read(p.PID); err != nil || q.Start != p.Start {
					t.Errorf("Origin's start time %d does not match the process (%v)", p.Start, err)
				}
			}
		})
	}
}

func TestOriginOfNothing(t *testing.T) {
	if _, ok, err := detect.New().Origin(context.Background(), nil); ok || err != nil {
		t.Errorf("Origin(nil) = %v, %v", ok, err)
	}
}
