// Package server is hush's daemon: the gRPC services on a Unix socket, the
// peer-credential check, the caller classification and the error boundary.
package server

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/hush-dev/hush/internal/approve"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/policy"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/version"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// gracePeriod bounds how long a shutdown waits for calls in flight before
// cutting them off.
const gracePeriod = 5 * time.Second

// Server serves SecretService and AdminService.
type Server struct {
	st         store.Store
	log        *slog.Logger
	det        *detect.Detector
	handoffDir string
	handoffTTL time.Duration
	socket     string
	version    string
	uid        uint32
	started    time.Time
	audit      *auditor // nil: no audit log

	pol  *policy.Policy // nil: policy.Default()
	gate *approve.Gate  // nil: nobody to ask, confirm refuses

	stopOnce sync.Once
	stopc    chan struct{}
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sends the daemon's log to l. Nothing is logged without it.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithDetector classifies callers with d instead of detect.New().
func WithDetector(d *detect.Detector) Option {
	return func(s *Server) {
		if d != nil {
			s.det = d
		}
	}
}

// WithHandoffDir makes the daemon remove handoff scripts in dir that were
// not sourced within ttl, including those whose client has exited.
func WithHandoffDir(dir string, ttl time.Duration) Option {
	return func(s *Server) { s.handoffDir, s.handoffTTL = dir, ttl }
}

// WithSocketPath is the socket path Status reports.
func WithSocketPath(path string) Option { return func(s *Server) { s.socket = path } }

// WithVersion is the version Status reports; by default the module version
// the binary was built from.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// New returns a Server over st.
func New(st store.Store, opts ...Option) *Server {
	s := &Server{
		st:      st,
		log:     slog.New(slog.DiscardHandler),
		version: version.String(),
		uid:     uint32(os.Geteuid()),
		started: time.Now(),
		stopc:   make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.det == nil {
		s.det = detect.New()
	}
	return s
}

// MaxMessageSize bounds one request or reply: an import of a .env file in
// one SetMany (at most MaxSetMany secrets), or every secret below a prefix,
// sealed, in one GetPrefix reply. gRPC's default of 4 MiB is too small for
// either; the socket is the user's own, so this bounds mistakes, not
// attacks.
const MaxMessageSize = 64 << 20

// Serve answers on l until ctx ends or a Stop call arrives, then lets calls
// in flight finish and closes l (which removes a socket made by Listen).
// A Server serves once.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	gs := grpc.NewServer(
		grpc.Creds(peerCredentials{log: s.log}),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	)
	hushv1.RegisterSecretServiceServer(gs, secretService{s: s})
	hushv1.RegisterAdminServiceServer(gs, adminService{s: s})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	for _, name := range []string{hushv1.SecretService_ServiceDesc.ServiceName, hushv1.AdminService_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	reflection.Register(gs)

	// Before any call is answered; the Shutdown record after every one.
	s.auditStart(ctx)
	defer s.auditStop()

	ctx, cancel := context.WithCancel(ctx)
	var reaper sync.WaitGroup
	reaper.Go(func() { s.reap(ctx) })
	reaper.Go(func() { s.keepAuditHeads(ctx) })
	// The reaper runs until ctx ends, so cancel before waiting for it (a
	// Stop call ends Serve without ending the caller's ctx).
	defer func() {
		cancel()
		reaper.Wait()
	}()

	served := make(chan error, 1)
	go func() { served <- gs.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		s.log.Info("shutting down", "reason", "context ended")
	case <-s.stopc:
		s.log.Info("shutting down", "reason", "stop requested")
	}
	s.stop() // ends Audit followers, which would otherwise hold GracefulStop
	hs.Shutdown()
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(gracePeriod):
		s.log.Warn("calls still running after the grace period; closing them", "grace", gracePeriod)
		gs.Stop()
		<-stopped
	}
	return <-served
}

// stop asks Serve to shut down; later calls do nothing.
func (s *Server) stop() { s.stopOnce.Do(func() { close(s.stopc) }) }

// reap removes every handoff script a previous daemon left behind, then
// every few seconds those not sourced within the TTL.
func (s *Server) reap(ctx context.Context) {
	if s.handoffDir == "" || s.handoffTTL <= 0 {
		return
	}
	n, err := handoff.Purge(s.handoffDir)
	if err != nil {
		s.log.Warn("cannot purge leftover handoff scripts", "dir", s.handoffDir, "err", err)
	}
	if n > 0 {
		s.log.Info("removed handoff scripts left from before the start", "count", n)
	}
	t := time.NewTicker(reapInterval(s.handoffTTL))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.reapOnce(now)
		}
	}
}

// reapInterval keeps a script's real lifetime within about a quarter of its
// TTL past the TTL, without waking more than needed.
func reapInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/4, 100*time.Millisecond), 5*time.Second)
}

func (s *Server) reapOnce(now time.Time) {
	n, err := handoff.Reap(s.handoffDir, s.handoffTTL, now)
	if err != nil {
		s.log.Warn("handoff reaper failed", "dir", s.handoffDir, "err", err)
	}
	if n > 0 {
		s.log.Info("removed unsourced handoff scripts", "count", n, "ttl", s.handoffTTL)
	}
}
