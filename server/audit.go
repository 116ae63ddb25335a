package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// reservedPrefix holds the daemon's own entries in the store. The server is
// the only way into the store, and it refuses these names in every request
// and leaves them out of every listing, so no caller can read, change,
// list or delete them — whatever the backend.
const reservedPrefix = ".hush"

// auditKeyName is the audit log's HMAC key: 32 random bytes, hex-encoded
// (stores refuse NUL bytes in values). Keeping it in the store ties
// forging a record to the vault's own protection: without the passphrase
// (or key file) nobody can compute a MAC.
const auditKeyName = reservedPrefix + "/audit-key"

// keyRetryInterval spaces out reads of the audit key from a store that
// failed for a reason other than being locked.
const keyRetryInterval = 5 * time.Second

func reserved(name string) bool { return secret.Under(reservedPrefix, name) }

// putReserved stores one of the daemon's own entries. Keeping them is
// bookkeeping, not a change to the user's secrets: a store that keeps the
// version before the user's last change (vault.age.prev) must keep that
// one, not the vault as it was a few seconds ago.
func (s *Server) putReserved(ctx context.Context, name string, value []byte) error {
	if !reserved(name) {
		return fmt.Errorf("%q is not one of the daemon's own entries", name)
	}
	if b, ok := s.st.(store.Bookkeeper); ok {
		return b.PutBookkeeping(ctx, name, value)
	}
	return s.st.Put(ctx, name, value)
}

// refuseReserved refuses a request naming the daemon's own entries.
func refuseReserved(req any) error {
	var name string
	switch r := req.(type) {
	case *hushv1.GetRequest:
		name = r.GetName()
	case *hushv1.GetPrefixRequest:
		name = r.GetPrefix()
	case *hushv1.SetRequest:
		name = r.GetName()
	case *hushv1.SetManyRequest:
		for _, e := range r.GetEntries() {
			if reserved(e.GetName()) {
				name = e.GetName()
				break
			}
		}
	case *hushv1.DeleteRequest:
		name = r.GetName()
	case *hushv1.ListRequest:
		name = r.GetPrefix()
	case *hushv1.ClassifyRequest:
		name = r.GetName()
	}
	if name != "" && reserved(name) {
		return fmt.Errorf("%w %s: names under %q are reserved for the hush daemon", secret.ErrInvalidName, secret.Quote(name), reservedPrefix+"/")
	}
	return nil
}

// WithAuditLog writes an audit record for every access and every change to
// l (the caller opens and closes it), and serves it through Audit and
// VerifyAudit. Records are sealed with a key the daemon creates in the
// store under a reserved name and, once read, keeps in memory, also while
// the vault is locked again; until the store is first readable they are
// written unsealed (see package audit).
//
// The log's head (see audit.Head) is kept in the store too, under
// auditHeadName, so that a daemon started later notices a log cut at its
// end; see audit_head.go.
func WithAuditLog(l *audit.Log) Option {
	return func(s *Server) {
		if l != nil {
			s.audit = &auditor{log: l, kick: make(chan struct{}, 1)}
		}
	}
}

type auditor struct {
	log *audit.Log

	keyMu    sync.Mutex
	keyRetry time.Time

	// headMu serialises checking and keeping the head.
	headMu      sync.Mutex
	headChecked bool       // the log was checked against the kept head
	kept        audit.Head // the head last written to the store
	// unkept counts records since the head was last kept; kick asks the
	// keeper to keep it now.
	unkept atomic.Int64
	kick   chan struct{}
}

// auditedOps are the calls that touch a secret or change the daemon's
// state; Status, Classify, Audit and VerifyAudit only read about it.
var auditedOps = map[string]string{
	hushv1.SecretService_Get_FullMethodName:       "Get",
	hushv1.SecretService_GetPrefix_FullMethodName: "GetPrefix",
	hushv1.SecretService_Set_FullMethodName:       "Set",
	hushv1.SecretService_SetMany_FullMethodName:   "SetMany",
	hushv1.SecretService_Delete_FullMethodName:    "Delete",
	hushv1.SecretService_List_FullMethodName:      "List",
	hushv1.AdminService_Unlock_FullMethodName:     "Unlock",
	hushv1.AdminService_Lock_FullMethodName:       "Lock",
	hushv1.AdminService_Stop_FullMethodName:       "Stop",
}

// auditNote collects what the handler learns about a call for its record.
type auditNote struct {
	mu             sync.Mutex
	rule, approval string
}

type auditNoteKey struct{}

// noteDecision tells the current call's audit record which policy rule
// decided it and how approval went ("approved", "denied", "timeout", "not
// needed"). Empty arguments leave what was noted before.
func noteDecision(ctx context.Context, rule, approval string) {
	n, ok := ctx.Value(auditNoteKey{}).(*auditNote)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if rule != "" {
		n.rule = rule
	}
	if approval != "" {
		n.approval = approval
	}
}

// handle runs one unary call behind the reserved-name guard, translates its
// error, and writes its audit record.
func (s *Server) handle(ctx context.Context, method string, req any, handler grpc.UnaryHandler) (any, error) {
	if s.audit != nil && method == hushv1.AdminService_Lock_FullMethodName {
		// A locked vault cannot be written: keep the head while it can.
		s.keepAuditHead(ctx)
	}
	note := &auditNote{}
	ctx = context.WithValue(ctx, auditNoteKey{}, note)
	var resp any
	err := refuseReserved(req)
	if err == nil {
		resp, err = handler(ctx, req)
	}
	if err != nil {
		resp, err = nil, s.toStatus(method, err)
	}
	op, ok := auditedOps[method]
	if s.audit == nil || !ok {
		return resp, err
	}
	if op == "Unlock" {
		// Once a passphrase vault opens, the log can be checked against
		// its kept head and the head kept again (after this record).
		defer s.keepAuditHead(ctx)
	}
	rec := auditRecord(callerOf(ctx), op, req, resp, err)
	note.mu.Lock()
	rec.Rule, rec.Approval = note.rule, note.approval
	note.mu.Unlock()
	if many, ok := req.(*hushv1.SetManyRequest); ok && len(many.GetEntries()) > 0 && len(many.GetEntries()) <= MaxSetMany {
		// One record per secret, as each Set has: `hush audit --name`
		// finds an imported secret like any other, and a refused import
		// is on record against every name it would have changed.
		for _, e := range many.GetEntries() {
			each := rec
			each.Names = []string{secret.Shorten(e.GetName())}
			if werr := s.writeAudit(ctx, each); werr != nil {
				s.log.Error("cannot write the audit log", "op", op, "err", werr)
			}
		}
		return resp, err
	}
	if werr := s.writeAudit(ctx, rec); werr != nil {
		s.log.Error("cannot write the audit log", "op", op, "err", werr)
		// Nothing is delivered that is not on record. A change has already
		// happened, so its caller is told the truth instead.
		if err == nil && (op == "Get" || op == "GetPrefix") {
			return nil, status.Error(codes.Internal, "the access could not be written to the audit log, so nothing was delivered; see the daemon's log")
		}
	}
	return resp, err
}

func (s *Server) writeAudit(ctx context.Context, rec audit.Record) error {
	s.ensureAuditKey(ctx)
	_, err := s.audit.log.Append(rec)
	if err == nil {
		s.audit.recorded()
	}
	return err
}

// ensureAuditKey reads the audit key from the store, creating it the first
// time, as soon as the store can be read.
func (s *Server) ensureAuditKey(ctx context.Context) {
	a := s.audit
	if a.log.HasKey() {
		return
	}
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	if a.log.HasKey() || time.Now().Before(a.keyRetry) {
		return
	}
	if l, ok := s.st.(store.Locker); ok && l.Locked() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	key, err := s.loadAuditKey(ctx)
	if err != nil {
		if !errors.Is(err, store.ErrLocked) {
			s.log.Warn("cannot read the audit key; records stay unsealed until it can be read", "name", auditKeyName, "err", err)
		}
		a.keyRetry = time.Now().Add(keyRetryInterval)
		return
	}
	defer clear(key)
	if err := a.log.SetKey(key); err != nil {
		s.log.Warn("the audit chain breaks at the next record", "log", a.log.Path(), "err", err)
	}
}

func (s *Server) loadAuditKey(ctx context.Context) ([]byte, error) {
	v, err := s.st.Get(ctx, auditKeyName)
	if errors.Is(err, store.ErrNotFound) {
		fresh := make([]byte, 32)
		rand.Read(fresh)
		v = []byte(hex.EncodeToString(fresh))
		clear(fresh)
		if err := s.putReserved(ctx, auditKeyName, v); err != nil {
			return nil, fmt.Errorf("storing a new audit key: %w", err)
		}
		s.log.Info("created the audit key in the store", "name", auditKeyName)
	} else if err != nil {
		return nil, err
	}
	defer clear(v)
	key, err := hex.DecodeString(string(v))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s in the store is not 64 hex digits", auditKeyName)
	}
	return key, nil
}

// auditRecord describes one finished call: names, never values, and the
// result as the caller saw it (already stripped of internals by toStatus).
// A refused name can be megabytes; it is recorded shortened (see
// secret.Shorten), or a few calls would rotate the whole history away.
func auditRecord(c Caller, op string, req, resp any, err error) audit.Record {
	rec := audit.Record{
		Operation: op,
		PID:       c.Cred.PID,
		Chain:     chainSummary(c.Chain),
		Verdict:   c.Verdict.Kind.String(),
		Agent:     termtext.Escape(c.Verdict.Agent),
		Signal:    termtext.Escape(c.Verdict.Signal),
		Result:    "ok",
	}
	if err != nil {
		rec.Result = status.Convert(err).Message()
	}
	switch r := req.(type) {
	case *hushv1.GetRequest:
		rec.Names = []string{secret.Shorten(r.GetName())}
	case *hushv1.SetRequest:
		rec.Names = []string{secret.Shorten(r.GetName())}
	case *hushv1.DeleteRequest:
		rec.Names = []string{secret.Shorten(r.GetName())}
	case *hushv1.ListRequest:
		rec.Prefix = secret.Shorten(r.GetPrefix())
	case *hushv1.GetPrefixRequest:
		rec.Prefix = secret.Shorten(r.GetPrefix())
		if out, ok := resp.(*hushv1.GetPrefixResponse); ok {
			for _, sec := range out.GetSealed().GetSecrets() {
				rec.Names = append(rec.Names, sec.GetName())
			}
		}
	}
	return rec
}

// maxChainLinks keeps a record short; the nearest processes say the most.
const maxChainLinks = 12

// chainSummary names the caller's processes, nearest first: by comm only,
// since an argv can hold anything, a value included. A comm is whatever
// the process set, so it is escaped before it reaches the record.
func chainSummary(chain []proctree.Process) string {
	names := make([]string, 0, min(len(chain), maxChainLinks)+1)
	for i, p := range chain {
		if i == maxChainLinks {
			names = append(names, "…")
			break
		}
		names = append(names, termtext.Escape(p.Comm))
	}
	return strings.Join(names, "<")
}

// recordProto is a record as Audit streams it. Records are read back from
// a file anyone of the user can edit; whatever it held and however it is
// decoded, every string is made UTF-8 here, where protobuf needs it.
func recordProto(r audit.Record) *hushv1.AuditRecord {
	v := hushv1.Verdict_VERDICT_UNKNOWN
	switch r.Verdict {
	case "person":
		v = hushv1.Verdict_VERDICT_PERSON
	case "agent":
		v = hushv1.Verdict_VERDICT_AGENT
	}
	result := r.Result
	if r.Backend != "" || r.Config != "" {
		// The stream has no fields of its own for these.
		result += fmt.Sprintf(" (backend %s, config %s)", r.Backend, r.Config)
	}
	u := termtext.ValidUTF8
	return &hushv1.AuditRecord{
		Time:      r.Time.UTC().Format(time.RFC3339Nano),
		Operation: u(r.Operation),
		Names:     termtext.ValidUTF8All(r.Names),
		Prefix:    u(r.Prefix),
		Pid:       int32(r.PID),
		Chain:     u(r.Chain),
		Verdict:   v,
		Agent:     u(r.Agent),
		Signal:    u(r.Signal),
		Rule:      u(r.Rule),
		Approval:  u(r.Approval),
		Result:    u(result),
		Mac:       u(r.MAC),
	}
}
