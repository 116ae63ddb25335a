package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/peercred"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Classify is open to every caller, agents included: it tells who the
// daemon takes a process for and what the policy would give it, which is
// what an agent needs to know to stop retrying, and it reads no value.
// pid 0 (or the caller's own) is the caller as this very call saw it.
// Other processes must belong to the daemon's user.
func (h adminService) Classify(ctx context.Context, req *hushv1.ClassifyRequest) (*hushv1.ClassifyResponse, error) {
	s := h.s
	c := callerOf(ctx)
	pid := int(req.GetPid())
	switch {
	case pid < 0:
		return nil, status.Errorf(codes.InvalidArgument, "pid %d is not a process ID", pid)
	case pid != 0 && pid != c.Cred.PID:
		p, err := proctree.Read(pid)
		if errors.Is(err, proctree.ErrVanished) {
			return nil, status.Errorf(codes.NotFound, "no process %d", pid)
		}
		if err != nil {
			return nil, err
		}
		if p.UID != s.uid {
			return nil, denied(fmt.Sprintf("only processes of uid %d can be classified; pid %d is uid %d", s.uid, pid, p.UID))
		}
		c = s.classify(ctx, peercred.Cred{PID: pid, UID: p.UID})
	}
	name := req.GetName()
	if err := secret.ValidatePrefix(name); err != nil {
		return nil, err
	}
	// For a prefix, the rule is the strictest among the secrets a load
	// would return, as in GetPrefix. A store that cannot list (locked)
	// still has an answer for the name itself.
	names := []string{name}
	if name != "" {
		if below, err := s.names(ctx, name); err == nil && len(below) > 0 {
			names = below
		}
	}
	d := s.policy().Decide(c.Verdict.Kind, names...)
	return &hushv1.ClassifyResponse{Caller: callerProto(c), Rule: d.Rule(), Outcome: d.Outcome()}, nil
}
