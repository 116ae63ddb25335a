package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/policy"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// WithPolicy decides every Get and GetPrefix by p; without it,
// policy.Default(): agents and unknown callers get handoffs, people values.
func WithPolicy(p *policy.Policy) Option {
	return func(s *Server) {
		if p != nil {
			s.pol = p
		}
	}
}

// WithApproval asks g's approver when a rule says confirm, and keeps its
// grants. Without it nobody can be asked, so confirm refuses.
func WithApproval(g *approve.Gate) Option {
	return func(s *Server) {
		if g != nil {
			s.gate = g
		}
	}
}

func (s *Server) policy() *policy.Policy {
	if s.pol == nil {
		return policy.Default()
	}
	return s.pol
}

// access is what the policy and any approval made of one request.
type access struct {
	delivery hushv1.Delivery
	decision policy.Decision
	approval string // "", "granted", "approved"
}

// authorize decides a request for target (a secret, or with prefix the
// prefix) that would deliver names, and asks for approval where the rule
// says so. It runs before any value is read. Its errors are final gRPC
// statuses: one line for the caller, naming the rule.
func (s *Server) authorize(ctx context.Context, c Caller, target string, prefix bool, names []string) (access, error) {
	if len(names) == 0 {
		names = []string{target}
	}
	d := s.policy().Decide(c.Verdict.Kind, names...)
	a := access{decision: d, delivery: hushv1.Delivery_DELIVERY_HANDOFF}
	if d.Plaintext {
		a.delivery = hushv1.Delivery_DELIVERY_PLAINTEXT
	}
	chain := chainText(c.Chain)
	logArgs := []any{"target", target, "pid", c.Cred.PID, "verdict", c.Verdict.Kind.String(), "agent", termtext.Escape(c.Verdict.Agent),
		"signal", termtext.Escape(c.Verdict.Signal), "chain", chain, "rule", d.Rule()}
	switch d.Action {
	case policy.Deny:
		noteDecision(ctx, d.Rule(), "")
		s.log.Warn("refused by policy", logArgs...)
		return a, refusal(d.Err().Error())
	case policy.Confirm:
		gate := s.gate
		if gate == nil {
			gate = approve.NewGate(nil)
		}
		res, err := gate.Check(ctx, approve.Request{
			Session: s.session(ctx, c),
			Who:     termtext.Escape(describe(c.Verdict)),
			Target:  target,
			Prefix:  prefix,
			Chain:   chain,
			Rule:    d.Rule(),
		})
		if err != nil {
			outcome := "error"
			switch {
			case errors.Is(err, approve.ErrDenied):
				outcome = "denied"
			case errors.Is(err, approve.ErrTimeout):
				outcome = "timeout"
			case ctx.Err() != nil:
				// The caller left; there is nobody to tell.
				return a, ctx.Err()
			}
			noteDecision(ctx, d.Rule(), outcome)
			s.log.Warn("not approved", append(logArgs, "approval", outcome, "err", err)...)
			what := approve.Request{Target: target, Prefix: prefix}.What()
			return a, refusal(fmt.Sprintf("not approved: %s needs a person's approval by policy rule %s: %s", what, d.Rule(), oneLine(err.Error())))
		}
		a.approval = res.String()
		s.log.Info("approved", append(logArgs, "approval", a.approval)...)
	}
	noteDecision(ctx, d.Rule(), a.approval)
	return a, nil
}

// refusal is a PermissionDenied status with the DENIED reason: the client
// maps it to client.ErrDenied, the CLI to its denied exit code.
func refusal(msg string) error {
	st := status.New(codes.PermissionDenied, msg)
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: hushv1.ErrorReason_ERROR_REASON_DENIED.String(), Domain: ErrorDomain}); err == nil {
		st = withInfo
	}
	return st.Err()
}

// session is the approval session a caller belongs to: for an agent, its
// origin process (see detect.Origin); for anyone else, the leader of the
// caller's terminal session. The zero Session, when neither can be pinned,
// gets no grants: every request asks.
func (s *Server) session(ctx context.Context, c Caller) approve.Session {
	if len(c.Chain) == 0 {
		return approve.Session{}
	}
	if c.Verdict.Kind == detect.Agent {
		// A genuine agent verdict always names the agent; one without a
		// name is a failed classification, whose chain proves nothing.
		if c.Verdict.Agent == "" {
			return approve.Session{}
		}
		p, ok, err := s.det.Origin(ctx, c.Chain)
		if err != nil || !ok {
			return approve.Session{}
		}
		return approve.Session{PID: p.PID, Start: p.Start}
	}
	sid := c.Chain[0].SID
	if sid <= 0 {
		return approve.Session{}
	}
	for _, p := range c.Chain {
		if p.PID == sid {
			return approve.Session{PID: p.PID, Start: p.Start}
		}
	}
	p, err := proctree.Read(sid)
	if err != nil || p.UID != s.uid {
		return approve.Session{}
	}
	return approve.Session{PID: p.PID, Start: p.Start}
}

// chainText is a caller chain for a person to read: "hush(4301) <
// bash(4290) < claude(4242)". A process names itself, so its name is
// escaped: it reaches a dialog, a terminal and the daemon's log.
func chainText(chain []proctree.Process) string {
	parts := make([]string, 0, len(chain))
	for i, p := range chain {
		if i == 8 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, termtext.Escape(p.Comm)+"("+strconv.Itoa(p.PID)+")")
	}
	return strings.Join(parts, " < ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// authorizeWrite refuses a Set or Delete under a rule that denies the
// caller: a secret an agent may not read is one it may not replace either
// (else it could point org/prod/DB_HOST at its own server and wait for a
// person's deploy to send the password there).
func (s *Server) authorizeWrite(ctx context.Context, c Caller, name string) error {
	if why, denied := s.writeDenied(ctx, c, name); denied {
		return refusal(why)
	}
	return nil
}

// authorizeWrites is authorizeWrite for every name of one SetMany, all
// before anything is written; a refusal names the secret it refuses.
func (s *Server) authorizeWrites(ctx context.Context, c Caller, names []string) error {
	for _, name := range names {
		if why, denied := s.writeDenied(ctx, c, name); denied {
			return refusal(why + ", for " + secret.Quote(name))
		}
	}
	return nil
}

// writeDenied says whether policy denies the caller a change to name, and
// why in one line.
func (s *Server) writeDenied(ctx context.Context, c Caller, name string) (string, bool) {
	d := s.policy().Decide(c.Verdict.Kind, name)
	if d.Action != policy.Deny {
		return "", false
	}
	noteDecision(ctx, d.Rule(), "")
	s.log.Warn("change refused by policy", "name", name, "pid", c.Cred.PID, "verdict", c.Verdict.Kind.String(), "rule", d.Rule())
	return d.Err().Error() + " (it covers changes too)", true
}
