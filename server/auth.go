package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/peercred"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// AuthInfo is what the daemon learns about a connection when it accepts
// it: the kernel's record of the connecting process.
type AuthInfo struct {
	credentials.CommonAuthInfo
	Cred peercred.Cred

	// caller is shared by every call on the connection.
	caller *connCaller
}

// connCaller is a connection's classified caller. The peer credentials are
// fixed when the connection is accepted, and the peer process is pinned by
// its pidfd, so the first hush call classifies it and later calls on the
// same connection reuse the verdict instead of walking /proc again.
type connCaller struct {
	mu     sync.Mutex
	caller *Caller
}

// AuthType implements credentials.AuthInfo.
func (AuthInfo) AuthType() string { return "peercred" }

// peerCredentials reads the peer's credentials during gRPC's handshake, so
// every call on a connection carries them. No bytes are exchanged: a
// plaintext client (grpcurl -plaintext) connects as usual.
type peerCredentials struct {
	log *slog.Logger
}

var _ credentials.TransportCredentials = peerCredentials{}

func (peerCredentials) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("peercred credentials are for the daemon's side only")
}

func (p peerCredentials) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	cred, err := peercred.Get(c)
	if err != nil {
		p.log.Warn("refused a connection whose peer credentials cannot be read", "err", err)
		return nil, nil, fmt.Errorf("read peer credentials: %w", err)
	}
	ai := AuthInfo{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity},
		Cred:           cred,
		caller:         &connCaller{},
	}
	return &credConn{Conn: c, cred: cred}, ai, nil
}

// credConn releases the peer's process handle (a pidfd) with the connection.
type credConn struct {
	net.Conn
	cred peercred.Cred
}

func (c *credConn) Close() error {
	err := c.Conn.Close()
	c.cred.Close()
	return err
}

func (peerCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}

func (p peerCredentials) Clone() credentials.TransportCredentials { return p }

func (peerCredentials) OverrideServerName(string) error { return nil }

// Caller is who made the current call, as the daemon sees it.
type Caller struct {
	Cred    peercred.Cred
	Verdict detect.Verdict
	// Chain runs from the caller up to the root of the walk.
	Chain []proctree.Process
}

type callerKey struct{}

// CallerFromContext returns the caller of a hush.v1 call.
func CallerFromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// hushMethods are the calls whose caller is classified; health checks and
// reflection only need the UID check.
const hushMethods = "/hush.v1."

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, s.toStatus(info.FullMethod, err)
	}
	return s.handle(ctx, info.FullMethod, req, handler)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.admit(ss.Context(), info.FullMethod)
	if err != nil {
		return s.toStatus(info.FullMethod, err)
	}
	if err := handler(srv, &callerStream{ServerStream: ss, ctx: ctx}); err != nil {
		return s.toStatus(info.FullMethod, err)
	}
	return nil
}

type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *callerStream) Context() context.Context { return c.ctx }

// admit refuses peers of another UID and, for hush's own methods, puts the
// classified Caller in the context.
func (s *Server) admit(ctx context.Context, method string) (context.Context, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, denied("the connection has no peer credentials")
	}
	ai, ok := p.AuthInfo.(AuthInfo)
	if !ok {
		return nil, denied("the connection has no peer credentials")
	}
	if ai.Cred.UID != s.uid {
		s.log.Warn("refused a caller of another user", "method", method, "pid", ai.Cred.PID, "uid", ai.Cred.UID)
		return nil, denied(fmt.Sprintf("only uid %d may use this daemon; the caller is uid %d", s.uid, ai.Cred.UID))
	}
	if !strings.HasPrefix(method, hushMethods) {
		return ctx, nil
	}
	c := s.callerOf(ctx, ai)
	s.log.Debug("call", "method", method, "pid", c.Cred.PID, "verdict", c.Verdict.Kind.String(), "agent", c.Verdict.Agent, "signal", c.Verdict.Signal)
	return context.WithValue(ctx, callerKey{}, c), nil
}

// callerOf classifies the connection's peer on its first call and reuses
// that verdict while the peer lives. Calls that arrive together on a new
// connection wait for one classification. A failed classification is not
// kept: the next call tries again (and fails closed again if it must).
func (s *Server) callerOf(ctx context.Context, ai AuthInfo) Caller {
	cc := ai.caller
	if cc == nil {
		return s.classify(ctx, ai.Cred)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.caller != nil {
		// Once the peer has exited, the connection is held by whatever
		// inherited it: classify again, which fails closed.
		if err := ai.Cred.Verify(); err == nil || errors.Is(err, peercred.ErrUnverifiable) {
			return *cc.caller
		}
		cc.caller = nil
	}
	c, ok := s.classifyOK(ctx, ai.Cred)
	if ok {
		cc.caller = &c
	}
	return c
}

// classify fails closed: a caller the detector cannot read is an agent.
func (s *Server) classify(ctx context.Context, cred peercred.Cred) Caller {
	c, _ := s.classifyOK(ctx, cred)
	return c
}

// classifyOK is classify that also says whether the detector decided (true)
// or failed and the caller is an agent by default (false).
func (s *Server) classifyOK(ctx context.Context, cred peercred.Cred) (Caller, bool) {
	v, chain, err := s.det.Classify(ctx, cred.PID)
	if err == nil {
		// The walk read /proc by PID; make sure that PID still names the
		// process that connected. Without a pidfd (kernels before 6.5) the
		// walk's own start-time checks are the guard.
		if verr := cred.Verify(); verr != nil && !errors.Is(verr, peercred.ErrUnverifiable) {
			err = fmt.Errorf("peer changed during classification: %w", verr)
		}
	}
	if err != nil {
		s.log.Warn("caller classification failed; treating the caller as an agent", "pid", cred.PID, "err", err)
		v = detect.Verdict{Kind: detect.Agent, Signal: "classification failed: " + err.Error()}
	}
	return Caller{Cred: cred, Verdict: v, Chain: chain}, err == nil
}

// callerProto is the caller as the response reports it. A process names
// itself and its arguments with any bytes, and a protobuf string must be
// UTF-8 or the whole reply fails to marshal (after the call was audited
// as done), so every such string is made UTF-8 here, with nothing lost.
func callerProto(c Caller) *hushv1.Caller {
	out := &hushv1.Caller{
		Pid:    int32(c.Cred.PID),
		Uid:    c.Cred.UID,
		Agent:  termtext.ValidUTF8(c.Verdict.Agent),
		Signal: termtext.ValidUTF8(c.Verdict.Signal),
		Chain:  make([]*hushv1.Process, 0, len(c.Chain)),
	}
	switch c.Verdict.Kind {
	case detect.Person:
		out.Verdict = hushv1.Verdict_VERDICT_PERSON
	case detect.Agent:
		out.Verdict = hushv1.Verdict_VERDICT_AGENT
	default:
		out.Verdict = hushv1.Verdict_VERDICT_UNKNOWN
	}
	for _, p := range c.Chain {
		out.Chain = append(out.Chain, &hushv1.Process{
			Pid:       int32(p.PID),
			Ppid:      int32(p.PPID),
			Comm:      termtext.ValidUTF8(p.Comm),
			Exe:       termtext.ValidUTF8(p.Exe),
			Argv:      termtext.ValidUTF8All(p.Argv),
			StartTime: p.Start,
		})
	}
	return out
}

// callerOf is the classified caller; hush methods always have one, and a
// call that somehow lacks it is treated as the least trusted kind.
func callerOf(ctx context.Context) Caller {
	if c, ok := CallerFromContext(ctx); ok {
		return c
	}
	return Caller{Verdict: detect.Verdict{Kind: detect.Unknown, Signal: "no caller in context"}}
}
