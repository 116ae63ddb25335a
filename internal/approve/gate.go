package approve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hush-dev/hush/internal/secret"
)

// Defaults for a Gate: a grant lapses after 30 minutes unused and 4 hours
// in any case; a question waits a minute for its answer; after a person
// declines, the same request is refused without asking for a while, so an
// agent retrying in a loop cannot wear them down with dialogs.
const (
	DefaultIdle     = 30 * time.Minute
	DefaultMax      = 4 * time.Hour
	DefaultTimeout  = time.Minute
	DefaultCooldown = 30 * time.Second
)

// Result says how a Gate let a request through.
type Result int

const (
	// Granted: an earlier approval covers it; nobody was asked.
	Granted Result = iota + 1
	// Approved: a person approved it just now.
	Approved
)

func (r Result) String() string {
	switch r {
	case Granted:
		return "granted"
	case Approved:
		return "approved"
	}
	return ""
}

// Gate asks an Approver for requests that no grant covers and remembers
// what was approved: a grant covers one Session and one target (a secret,
// or a prefix and everything below it) until it has gone unused for the
// idle TTL or reached the maximum one.
//
// Questions run without any lock held: callers with other questions, or
// none, never wait for them. Callers asking the same question at once
// share one dialog.
type Gate struct {
	approver                    Approver
	idle, max, timeout, cooloff time.Duration
	now                         func() time.Time

	mu       sync.Mutex
	grants   map[Session][]*grant
	declined map[key]time.Time
	asking   map[key]*question
}

type grant struct {
	target           string
	prefix           bool
	granted, lastUse time.Time
}

type key struct {
	session Session
	target  string
	prefix  bool
}

// question is one dialog in progress and the callers waiting for it.
type question struct {
	done    chan struct{}
	err     error
	waiters int
	cancel  context.CancelFunc
}

// GateOption configures a Gate.
type GateOption func(*Gate)

// WithTTL sets how long a grant lasts unused (idle) and at most (max).
func WithTTL(idle, max time.Duration) GateOption {
	return func(g *Gate) {
		if idle > 0 {
			g.idle = idle
		}
		if max > 0 {
			g.max = max
		}
	}
}

// WithTimeout bounds how long a question waits for its answer.
func WithTimeout(d time.Duration) GateOption {
	return func(g *Gate) {
		if d > 0 {
			g.timeout = d
		}
	}
}

// WithCooldown sets how long a declined request is refused without asking
// again; 0 keeps the default, a negative duration turns it off.
func WithCooldown(d time.Duration) GateOption {
	return func(g *Gate) {
		if d != 0 {
			g.cooloff = max(d, 0)
		}
	}
}

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) GateOption {
	return func(g *Gate) {
		if now != nil {
			g.now = now
		}
	}
}

// NewGate returns a Gate that asks a; a nil a asks nobody (None).
func NewGate(a Approver, opts ...GateOption) *Gate {
	if a == nil {
		a = None{}
	}
	g := &Gate{
		approver: a,
		idle:     DefaultIdle,
		max:      DefaultMax,
		timeout:  DefaultTimeout,
		cooloff:  DefaultCooldown,
		now:      time.Now,
		grants:   map[Session][]*grant{},
		declined: map[key]time.Time{},
		asking:   map[key]*question{},
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Check lets r through when a grant covers it, or else asks. It returns
// Granted or Approved, or the Approver's error (see Approver), or ctx's
// when the caller stops waiting.
func (g *Gate) Check(ctx context.Context, r Request) (Result, error) {
	k := key{session: r.Session, target: r.Target, prefix: r.Prefix}
	g.mu.Lock()
	now := g.now()
	if g.covered(k, now) {
		g.mu.Unlock()
		return Granted, nil
	}
	if until, ok := g.declined[k]; ok {
		if now.Before(until) {
			g.mu.Unlock()
			return 0, fmt.Errorf("%w: a person declined this request; not asking again for %s", ErrDenied, until.Sub(now).Round(time.Second))
		}
		delete(g.declined, k)
	}
	// Without a session, two callers are not known to be one agent: each
	// gets its own question.
	q, ok := g.asking[k]
	if !ok || k.session == (Session{}) {
		q = g.ask(k, r)
	}
	q.waiters++
	g.mu.Unlock()

	select {
	case <-q.done:
		if q.err != nil {
			return 0, q.err
		}
		return Approved, nil
	case <-ctx.Done():
		g.mu.Lock()
		q.waiters--
		if q.waiters == 0 {
			// Nobody waits for the answer any more: close the dialog, and
			// let the next caller ask afresh.
			q.cancel()
			if g.asking[k] == q {
				delete(g.asking, k)
			}
		}
		g.mu.Unlock()
		return 0, ctx.Err()
	}
}

// ask starts a question for k; g.mu is held.
func (g *Gate) ask(k key, r Request) *question {
	// The dialog outlives no waiter and no timeout, but is not bound to
	// the first caller alone: others may join it.
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	q := &question{done: make(chan struct{}), cancel: cancel}
	shared := k.session != (Session{})
	if shared {
		g.asking[k] = q
	}
	go func() {
		defer cancel()
		err := g.approver.Approve(ctx, r)
		g.mu.Lock()
		defer g.mu.Unlock()
		now := g.now()
		if shared {
			if g.asking[k] == q {
				delete(g.asking, k)
			}
			switch {
			case err == nil:
				g.grants[k.session] = append(g.grants[k.session], &grant{target: k.target, prefix: k.prefix, granted: now, lastUse: now})
			case errors.Is(err, ErrDenied) && g.cooloff > 0:
				g.declined[k] = now.Add(g.cooloff)
			}
		}
		g.prune(now)
		q.err = err
		close(q.done)
	}()
	return q
}

// covered reports whether a live grant covers k, and marks it used; g.mu
// is held. The zero Session has no grants.
func (g *Gate) covered(k key, now time.Time) bool {
	if k.session == (Session{}) {
		return false
	}
	for _, gr := range g.grants[k.session] {
		if !g.live(gr, now) {
			continue
		}
		if gr.target == k.target && gr.prefix == k.prefix || gr.prefix && secret.Under(gr.target, k.target) {
			gr.lastUse = now
			return true
		}
	}
	return false
}

func (g *Gate) live(gr *grant, now time.Time) bool {
	return now.Sub(gr.lastUse) < g.idle && now.Sub(gr.granted) < g.max
}

// prune forgets lapsed grants and cooldowns; g.mu is held.
func (g *Gate) prune(now time.Time) {
	for s, list := range g.grants {
		kept := list[:0]
		for _, gr := range list {
			if g.live(gr, now) {
				kept = append(kept, gr)
			}
		}
		if len(kept) == 0 {
			delete(g.grants, s)
		} else {
			g.grants[s] = kept
		}
	}
	for k, until := range g.declined {
		if !now.Before(until) {
			delete(g.declined, k)
		}
	}
}

// Waiting counts the callers waiting for an answer.
func (g *Gate) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, q := range g.asking {
		n += q.waiters
	}
	return n
}

// Forget drops every grant, as after a lock.
func (g *Gate) Forget() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.grants)
	clear(g.declined)
}

// Describe says whom the gate asks and for how long its answers hold, in
// one line that names no environment: the daemon records a digest of it
// at start, so that a changed approval setting shows between restarts.
func (g *Gate) Describe() string {
	who := fmt.Sprintf("%T", g.approver)
	switch a := g.approver.(type) {
	case None:
		who = "none"
	case *Pinentry:
		who = fmt.Sprintf("pinentry %q tty %q", a.Program, a.TTY)
	case *Command:
		who = fmt.Sprintf("command %q", a.Argv)
	}
	return fmt.Sprintf("%s; timeout %s, idle %s, max %s, cooldown %s", who, g.timeout, g.idle, g.max, g.cooloff)
}
