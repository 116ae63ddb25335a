// Package server is hush's daemon: the gRPC services on a Unix socket, the
// peer-credential check, the caller classification and the error boundary.
package server

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/store"
)

// Server serves SecretService and AdminService.
type Server struct{}

// Option configures a Server.
type Option func(*Server)

func WithLogger(l *slog.Logger) Option                    { panic("TODO") }
func WithDetector(d *detect.Detector) Option              { panic("TODO") }
func WithHandoffDir(dir string, ttl time.Duration) Option { panic("TODO") } // reaper
func WithSocketPath(path string) Option                   { panic("TODO") } // reported by Status

// New returns a Server over st.
func New(st store.Store, opts ...Option) *Server { panic("TODO") }

// Listen creates the socket's dir (0700, checked), probes an existing
// socket (refusing if a daemon answers, removing it if stale), listens and
// sets mode 0600.
func Listen(path string) (net.Listener, error) { panic("TODO") }

// Serve answers on l until ctx ends or a Stop call arrives.
func (s *Server) Serve(ctx context.Context, l net.Listener) error { panic("TODO") }
