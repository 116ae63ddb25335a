package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/store"
)

// auditHeadName keeps the audit log's head (audit.Head): where its last
// sealed record is, and its MAC. A log cut after any record still chains,
// so the log cannot vouch for its own end; the vault can, since only its
// owner can write it. That is also the limit: a process of the same user
// that holds the vault's key (its key file, or the passphrase) can rewrite
// the head along with the log (README, "Security model").
const auditHeadName = reservedPrefix + "/audit-head"

// Every keeping of the head re-encrypts the vault, so it is not kept at
// every record: at start, before Lock, after Unlock and at stop, and
// otherwise within keepEvery of a record or after keepRecords records.
// Records written since the head was last kept can be cut unnoticed, as
// can those written while a passphrase vault is locked.
const (
	keepEvery   = 5 * time.Second
	keepRecords = 64
)

// Audit records of the daemon itself.
const (
	opStart     = "Start"     // the backend and a digest of the settings in force
	opHeadCheck = "HeadCheck" // the log checked against the kept head
	opShutdown  = "Shutdown"
)

// recorded counts a record towards the next keeping of the head.
func (a *auditor) recorded() {
	if a.unkept.Add(1) >= keepRecords {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// auditStart writes the Start record, checks the log against the head kept
// by the daemon before, and keeps the head. Serve calls it before it
// answers any call.
func (s *Server) auditStart(ctx context.Context) {
	if s.audit == nil {
		return
	}
	s.ensureAuditKey(ctx)
	backend := s.backendName()
	s.writeOwnRecord(audit.Record{Operation: opStart, Backend: backend, Config: s.configDigest(backend), Result: "ok"})
	s.keepAuditHead(ctx)
}

// auditStop writes the Shutdown record and keeps the head, when the vault
// is open. Serve calls it once no call is left.
func (s *Server) auditStop() {
	if s.audit == nil {
		return
	}
	s.writeOwnRecord(audit.Record{Operation: opShutdown, Result: "ok"})
	s.keepAuditHead(context.Background())
}

func (s *Server) writeOwnRecord(rec audit.Record) {
	rec.PID = os.Getpid()
	if _, err := s.audit.log.Append(rec); err != nil {
		s.log.Error("cannot write the audit log", "op", rec.Operation, "err", err)
		return
	}
	s.audit.recorded()
}

// keepAuditHeads keeps the head every so often until ctx ends.
func (s *Server) keepAuditHeads(ctx context.Context) {
	if s.audit == nil {
		return
	}
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.audit.unkept.Load() > 0 {
				s.keepAuditHead(ctx)
			}
		case <-s.audit.kick:
			s.keepAuditHead(ctx)
		}
	}
}

// keepAuditHead writes the log's head to the store when it moved, once
// the log has been checked against the head kept before (a head written
// first would hide a cut). It does nothing while the key is unknown or
// the store locked.
func (s *Server) keepAuditHead(ctx context.Context) {
	a := s.audit
	if a == nil {
		return
	}
	a.headMu.Lock()
	defer a.headMu.Unlock()
	if !a.log.HasKey() {
		return
	}
	if l, ok := s.st.(store.Locker); ok && l.Locked() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if !a.headChecked && !s.checkAuditHead(ctx) {
		return
	}
	h, err := a.log.Head()
	if err != nil {
		s.log.Warn("cannot read the audit log's head", "err", err)
		return
	}
	if h.IsZero() || sameHead(h, a.kept) {
		return
	}
	if err := s.putReserved(ctx, auditHeadName, h.Marshal()); err != nil {
		if !errors.Is(err, store.ErrLocked) {
			s.log.Warn("cannot keep the audit log's head in the store", "name", auditHeadName, "err", err)
		}
		return
	}
	a.kept = h
	a.unkept.Store(0)
}

// checkAuditHead checks the log against the head kept in the store and
// writes a HeadCheck record saying how it went. It reports whether the
// check is done; called with headMu held.
func (s *Server) checkAuditHead(ctx context.Context) bool {
	a := s.audit
	var kept audit.Head
	result := "ok"
	v, err := s.st.Get(ctx, auditHeadName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		result = "ok: no head was kept before, so this start is the first one checked against"
	case err != nil:
		if !errors.Is(err, store.ErrLocked) {
			s.log.Warn("cannot read the audit log's head; the log is checked against it later", "name", auditHeadName, "err", err)
		}
		return false
	default:
		kept, err = audit.ParseHead(v)
		clear(v)
		if err != nil {
			// Only the vault's owner writes it: a damaged head tells
			// nothing about the log, and is replaced by the next one.
			s.log.Warn("the audit log's kept head is damaged", "name", auditHeadName, "err", err)
			result = "not checked: the kept head is damaged"
		}
	}
	cut, err := a.log.CheckHead(kept)
	if err != nil {
		s.log.Warn("cannot check the audit log against its kept head", "err", err)
		return false
	}
	if cut != nil {
		result = "broken: " + cut.Error()
		s.log.Error("the audit log was cut at its end", "file", cut.File, "line", cut.Line, "reason", cut.Reason)
	}
	a.headChecked = true
	s.writeOwnRecord(audit.Record{Operation: opHeadCheck, Result: result})
	return true
}

func sameHead(a, b audit.Head) bool {
	return a.Gen == b.Gen && a.Line == b.Line && a.MAC == b.MAC && (a.Cut == nil) == (b.Cut == nil)
}

func (s *Server) backendName() string {
	if n, ok := s.st.(store.Named); ok {
		return n.Backend()
	}
	return "unknown"
}

// configDigest identifies the settings in force that decide who gets
// what: the backend, the policy, the approval gate and the handoff TTL.
// Two starts with the same settings give the same digest, so an edit
// between restarts shows in the Start records.
func (s *Server) configDigest(backend string) string {
	gate := s.gate
	if gate == nil {
		gate = approve.NewGate(nil)
	}
	h := sha256.New()
	fmt.Fprintf(h, "backend %s\npolicy %+v\napproval %s\nhandoff-ttl %s\n", backend, *s.policy(), gate.Describe(), s.handoffTTL)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}
