package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

type adminService struct {
	hushv1.UnimplementedAdminServiceServer
	s *Server
}

func (h adminService) Status(ctx context.Context, _ *hushv1.StatusRequest) (*hushv1.StatusResponse, error) {
	s := h.s
	out := &hushv1.StatusResponse{
		Version:       s.version,
		UptimeSeconds: int64(time.Since(s.started) / time.Second),
		Backend:       "unknown",
		Socket:        termtext.ValidUTF8(s.socket), // a path: any bytes
		Pid:           int32(os.Getpid()),
	}
	if n, ok := s.st.(store.Named); ok {
		out.Backend = n.Backend()
	}
	if l, ok := s.st.(store.Locker); ok {
		out.Locked = l.Locked()
	}
	// A locked store cannot say how many secrets it holds; 0 with locked set
	// is the honest answer.
	if !out.Locked {
		names, err := s.names(ctx, "")
		switch {
		case err == nil:
			out.SecretCount = int32(len(names))
		case errors.Is(err, store.ErrLocked):
			out.Locked = true
		default:
			return nil, err
		}
	}
	if s.handoffDir != "" {
		n, err := handoff.Pending(s.handoffDir)
		if err != nil {
			s.log.Warn("cannot count pending handoff scripts", "dir", s.handoffDir, "err", err)
		}
		out.HandoffsPending = int32(n)
	}
	return out, nil
}

// unlockRule is the policy an agent meets at Unlock: a passphrase an agent
// could type is a passphrase in its context.
const unlockRule = "only a person at a terminal may unlock the vault"

func (h adminService) Unlock(ctx context.Context, req *hushv1.UnlockRequest) (*hushv1.UnlockResponse, error) {
	c := callerOf(ctx)
	if c.Verdict.Kind != detect.Person {
		h.s.log.Warn("refused unlock", "pid", c.Cred.PID, "verdict", c.Verdict.Kind.String(), "signal", c.Verdict.Signal)
		return nil, denied(fmt.Sprintf("%s; the caller is %s", unlockRule, describe(c.Verdict)))
	}
	l, err := h.s.locker()
	if err != nil {
		return nil, err
	}
	if err := l.Unlock(ctx, req.GetPassphrase()); err != nil {
		return nil, err
	}
	h.s.log.Info("unlocked", "pid", c.Cred.PID)
	return &hushv1.UnlockResponse{}, nil
}

func (h adminService) Lock(ctx context.Context, _ *hushv1.LockRequest) (*hushv1.LockResponse, error) {
	l, err := h.s.locker()
	if err != nil {
		return nil, err
	}
	if err := l.Lock(ctx); err != nil {
		return nil, &unmet{err}
	}
	h.s.log.Info("locked", "pid", callerOf(ctx).Cred.PID)
	return &hushv1.LockResponse{}, nil
}

func (h adminService) Stop(ctx context.Context, _ *hushv1.StopRequest) (*hushv1.StopResponse, error) {
	h.s.log.Info("stop requested", "pid", callerOf(ctx).Cred.PID)
	h.s.stop()
	return &hushv1.StopResponse{}, nil
}

func (s *Server) locker() (store.Locker, error) {
	if l, ok := s.st.(store.Locker); ok {
		return l, nil
	}
	return nil, &unmet{errors.New("this backend has no lock: it cannot be locked or unlocked")}
}

// describe says who the daemon took the caller for, for a denial message.
func describe(v detect.Verdict) string {
	who := v.Kind.String()
	if v.Agent != "" {
		who += " (" + v.Agent + ")"
	}
	if v.Signal != "" {
		who += ", by " + v.Signal
	}
	return who
}
