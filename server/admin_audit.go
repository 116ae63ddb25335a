package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Audit limits: how many recent records a call gets by default and at most.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 10000
)

var errNoAuditLog = &unmet{errors.New("this daemon keeps no audit log")}

// Audit is open to every caller, agents included: a record names secrets
// (as List does) and callers, never a value, and an agent asking why it
// was refused should be able to find out.
func (h adminService) Audit(req *hushv1.AuditRequest, stream grpc.ServerStreamingServer[hushv1.AuditResponse]) error {
	a := h.s.audit
	if a == nil {
		return errNoAuditLog
	}
	if err := secret.ValidatePrefix(req.GetNamePrefix()); err != nil {
		return err
	}
	limit := int(req.GetLimit())
	switch {
	case limit < 0:
		return status.Errorf(codes.InvalidArgument, "limit %d is negative", limit)
	case limit == 0:
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	match := auditFilter(req.GetNamePrefix(), req.GetAgent())

	pos := a.log.Position()
	var sub *audit.Subscription
	if req.GetFollow() {
		var err error
		if sub, err = a.log.Subscribe(); err != nil {
			return err
		}
		defer sub.Close()
		pos = sub.Pos
	}
	recent, err := a.log.Recent(pos, limit, match)
	if err != nil {
		return err
	}
	for _, r := range recent {
		if err := stream.Send(&hushv1.AuditResponse{Record: recordProto(r)}); err != nil {
			return err
		}
	}
	if sub == nil {
		return nil
	}
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.s.stopc:
			return nil
		case r, ok := <-sub.C:
			if !ok {
				if err := sub.Err(); errors.Is(err, audit.ErrBehind) {
					return status.Error(codes.ResourceExhausted, err.Error())
				}
				return nil
			}
			if !match(r) {
				continue
			}
			if err := stream.Send(&hushv1.AuditResponse{Record: recordProto(r)}); err != nil {
				return err
			}
		}
	}
}

// auditFilter matches records that touched a secret at or below prefix
// (a delivered name, or the prefix asked for) and whose caller was agent.
func auditFilter(prefix, agent string) func(audit.Record) bool {
	return func(r audit.Record) bool {
		if agent != "" && !strings.EqualFold(r.Agent, agent) {
			return false
		}
		if prefix == "" {
			return true
		}
		for _, n := range r.Names {
			if secret.Under(prefix, n) {
				return true
			}
		}
		return r.Prefix != "" && secret.Under(prefix, r.Prefix)
	}
}

// VerifyAudit is open to every caller: it reports a file and a line, never
// a record's contents, and the key it uses never leaves the daemon.
func (h adminService) VerifyAudit(ctx context.Context, _ *hushv1.VerifyAuditRequest) (*hushv1.VerifyAuditResponse, error) {
	a := h.s.audit
	if a == nil {
		return nil, errNoAuditLog
	}
	h.s.ensureAuditKey(ctx)
	rep, err := a.log.Verify()
	if errors.Is(err, audit.ErrNoKey) {
		return nil, fmt.Errorf("cannot verify the audit log: %w (%w)", err, store.ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	// Paths are whatever bytes the file system holds.
	out := &hushv1.VerifyAuditResponse{
		Ok:       rep.Broken == nil,
		Files:    termtext.ValidUTF8All(rep.Files),
		Records:  int64(rep.Records),
		Unsealed: int64(rep.Unsealed),
		Anchor:   termtext.ValidUTF8(rep.Anchor),
	}
	if b := rep.Broken; b != nil {
		out.BrokenFile, out.BrokenLine, out.Reason = termtext.ValidUTF8(b.File), int64(b.Line), termtext.ValidUTF8(b.Reason)
		h.s.log.Warn("the audit log's chain is broken", "file", b.File, "line", b.Line, "reason", b.Reason)
	}
	return out, nil
}
