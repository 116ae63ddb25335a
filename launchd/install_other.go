//go:build !linux && !darwin

package launchd

import (
	"context"
	"io"
)

// Install is not supported here.
func Install(ctx context.Context, c Config, out io.Writer) error { return ErrNotSupported }

// Uninstall is not supported here.
func Uninstall(ctx context.Context, c Config, out io.Writer) error { return ErrNotSupported }

// Status is not supported here.
func Status(ctx context.Context, c Config) (State, error) { return State{}, ErrNotSupported }
