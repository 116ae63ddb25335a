package server

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hush-dev/hush/internal/mask"
	"github.com/hush-dev/hush/internal/seal"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

type secretService struct {
	hushv1.UnimplementedSecretServiceServer
	s *Server
}

func (h secretService) Get(ctx context.Context, req *hushv1.GetRequest) (*hushv1.GetResponse, error) {
	c := callerOf(ctx)
	// Stored, not new: a secret stored before the rules for new names can
	// still be read (to move it to a name that follows them) and deleted.
	if err := secret.ValidateStored(req.GetName()); err != nil {
		return nil, err
	}
	acc, err := h.s.authorize(ctx, c, req.GetName(), false, nil)
	if err != nil {
		return nil, err
	}
	v, err := h.s.st.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	sealed, err := seal.Seal(req.GetRecipient(), []secret.Secret{{Name: req.GetName(), Value: v}})
	if err != nil {
		return nil, err
	}
	d := acc.delivery
	h.s.logDelivery(c, d, req.GetName())
	return &hushv1.GetResponse{Delivery: d, Caller: callerProto(c), Sealed: sealed}, nil
}

func (h secretService) GetPrefix(ctx context.Context, req *hushv1.GetPrefixRequest) (*hushv1.GetPrefixResponse, error) {
	c := callerOf(ctx)
	prefix := req.GetPrefix()
	names, err := h.s.names(ctx, prefix)
	if err != nil {
		return nil, err
	}
	acc, err := h.s.authorize(ctx, c, prefix, true, names)
	if err != nil {
		return nil, err
	}
	secrets := make([]secret.Secret, 0, len(names))
	for _, name := range names {
		v, err := h.s.st.Get(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since List: it is simply no longer below prefix
		}
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, secret.Secret{Name: name, Value: v})
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("no secret under %q: %w", prefix, store.ErrNotFound)
	}
	sealed, err := seal.Seal(req.GetRecipient(), secrets)
	if err != nil {
		return nil, err
	}
	d := acc.delivery
	h.s.logDelivery(c, d, names...)
	return &hushv1.GetPrefixResponse{Delivery: d, Caller: callerProto(c), Sealed: sealed}, nil
}

func (h secretService) Set(ctx context.Context, req *hushv1.SetRequest) (*hushv1.SetResponse, error) {
	name, value := req.GetName(), req.GetValue()
	if err := secret.ValidateNew(name, value); err != nil {
		return nil, err
	}
	if err := h.s.authorizeWrite(ctx, callerOf(ctx), name); err != nil {
		return nil, err
	}
	if err := h.s.st.Put(ctx, name, value); err != nil {
		return nil, err
	}
	h.s.log.Info("stored", "name", name, "pid", callerOf(ctx).Cred.PID)
	return &hushv1.SetResponse{Warning: mask.ShortWarning(name, value)}, nil
}

// MaxSetMany bounds the secrets of one SetMany: far more than any .env
// file holds, and few enough that the audit record each one gets cannot
// rotate the log's history away in one call.
const MaxSetMany = 10_000

// SetMany stores every entry as one change. Every name and value is
// checked, and every write authorized, before anything is stored, so an
// import that one rule refuses stores none of it; the store then writes
// them together where it can (store.PutMany).
func (h secretService) SetMany(ctx context.Context, req *hushv1.SetManyRequest) (*hushv1.SetManyResponse, error) {
	c := callerOf(ctx)
	if n := len(req.GetEntries()); n > MaxSetMany {
		return nil, fmt.Errorf("%w: %d secrets in one call, over the limit of %d: split the import", secret.ErrInvalidValue, n, MaxSetMany)
	}
	secrets := make([]secret.Secret, 0, len(req.GetEntries()))
	for _, e := range req.GetEntries() {
		name, value := e.GetName(), e.GetValue()
		if err := secret.ValidateNew(name, value); err != nil {
			return nil, err
		}
		secrets = append(secrets, secret.Secret{Name: name, Value: value})
	}
	names := make([]string, len(secrets))
	for i, sec := range secrets {
		names[i] = sec.Name
	}
	if err := h.s.authorizeWrites(ctx, c, names); err != nil {
		return nil, err
	}
	if err := store.PutMany(ctx, h.s.st, secrets); err != nil {
		return nil, err
	}
	resp := &hushv1.SetManyResponse{}
	for _, sec := range secrets {
		h.s.log.Info("stored", "name", sec.Name, "pid", c.Cred.PID)
		if w := mask.ShortWarning(sec.Name, sec.Value); w != "" {
			resp.Warnings = append(resp.Warnings, w)
		}
	}
	return resp, nil
}

func (h secretService) Delete(ctx context.Context, req *hushv1.DeleteRequest) (*hushv1.DeleteResponse, error) {
	if err := secret.ValidateStored(req.GetName()); err != nil {
		return nil, err
	}
	if err := h.s.authorizeWrite(ctx, callerOf(ctx), req.GetName()); err != nil {
		return nil, err
	}
	if err := h.s.st.Delete(ctx, req.GetName()); err != nil {
		return nil, err
	}
	h.s.log.Info("deleted", "name", req.GetName(), "pid", callerOf(ctx).Cred.PID)
	return &hushv1.DeleteResponse{}, nil
}

func (h secretService) List(ctx context.Context, req *hushv1.ListRequest) (*hushv1.ListResponse, error) {
	names, err := h.s.names(ctx, req.GetPrefix())
	if err != nil {
		return nil, err
	}
	out := &hushv1.ListResponse{Secrets: make([]*hushv1.SecretInfo, 0, len(names))}
	for _, name := range names {
		env, err := secret.EnvName(name)
		if err != nil {
			env = ""
		}
		// Every backend hands back UTF-8 names today; one that did not
		// must not fail the whole listing.
		out.Secrets = append(out.Secrets, &hushv1.SecretInfo{Name: termtext.ValidUTF8(name), EnvName: env})
	}
	return out, nil
}

// names lists the secrets at or below prefix, sorted and without repeats,
// whatever order or breadth the backend answers with.
func (s *Server) names(ctx context.Context, prefix string) ([]string, error) {
	if err := secret.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	all, err := s.st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(all))
	for _, n := range all {
		if secret.Under(prefix, n) && !reserved(n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func (s *Server) logDelivery(c Caller, d hushv1.Delivery, names ...string) {
	s.log.Info("delivered", "names", names, "pid", c.Cred.PID, "verdict", c.Verdict.Kind.String(),
		"agent", c.Verdict.Agent, "signal", c.Verdict.Signal, "delivery", d.String())
}
