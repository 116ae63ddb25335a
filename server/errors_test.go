package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/seal"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

func TestToStatusIsTheOneMapping(t *testing.T) {
	var log strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&log, nil))}
	tests := []struct {
		name   string
		err    error
		code   codes.Code
		reason hushv1.ErrorReason
		msg    string
	}{
		{"a missing secret is NotFound", fmt.Errorf("secret %q: %w", "a/B", store.ErrNotFound), codes.NotFound, hushv1.ErrorReason_ERROR_REASON_NOT_FOUND, `secret "a/B"`},
		{"a locked store is FailedPrecondition", store.ErrLocked, codes.FailedPrecondition, hushv1.ErrorReason_ERROR_REASON_LOCKED, "locked"},
		{"a wrong passphrase is Unauthenticated", store.ErrBadPassphrase, codes.Unauthenticated, hushv1.ErrorReason_ERROR_REASON_BAD_PASSPHRASE, "passphrase"},
		{"a bad name is InvalidArgument", fmt.Errorf("%w: %q", secret.ErrInvalidName, "a//b"), codes.InvalidArgument, hushv1.ErrorReason_ERROR_REASON_INVALID_NAME, "a//b"},
		{"a bad value is InvalidArgument", fmt.Errorf("%w: %q holds NUL", secret.ErrInvalidValue, "a/B"), codes.InvalidArgument, hushv1.ErrorReason_ERROR_REASON_INVALID_VALUE, "a/B"},
		{"a denial is PermissionDenied", denied("no agents"), codes.PermissionDenied, hushv1.ErrorReason_ERROR_REASON_DENIED, "no agents"},
		{"an unusable recipient key is InvalidArgument", seal.ErrUnsupported, codes.InvalidArgument, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "unsupported"},
		{"an unmet precondition keeps its message", &unmet{errors.New("cannot be locked")}, codes.FailedPrecondition, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "cannot be locked"},
		{"a sentinel inside an unmet precondition wins", &unmet{store.ErrLocked}, codes.FailedPrecondition, hushv1.ErrorReason_ERROR_REASON_LOCKED, "locked"},
		{"a canceled call is Canceled", context.Canceled, codes.Canceled, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "canceled"},
		{"a full disk says so", fmt.Errorf("write vault: %w", &os.PathError{Op: "write", Path: "/x/.vault.tmp", Err: syscall.ENOSPC}), codes.ResourceExhausted, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "the vault's storage failed: no space left on device (nothing was changed"},
		{"a write that was made says so", fmt.Errorf("%w, but the directory could not be synced: %w", store.ErrWritten, syscall.EIO), codes.ResourceExhausted, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "failed after the change was made: written, but the directory could not be synced: input/output error"},
		{"a batch stored in part says so", fmt.Errorf("dbus: no reply (%w: the 2 secrets before \"a/C\" were stored, the rest were not)", store.ErrWritten), codes.Aborted, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "the 2 secrets before"},
		{"a read-only file system says so", fmt.Errorf("rename: %w", syscall.EROFS), codes.ResourceExhausted, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "read-only file system"},
		{"anything else is Internal and generic", errors.New("disk on fire at /secret/path"), codes.Internal, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, internalMessage},
		{"a status passes through", status.Error(codes.ResourceExhausted, "too big"), codes.ResourceExhausted, hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED, "too big"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(s.toStatus("/hush.v1.SecretService/Get", tc.err))
			if st.Code() != tc.code {
				t.Errorf("code %v, want %v", st.Code(), tc.code)
			}
			if !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("message %q does not hold %q", st.Message(), tc.msg)
			}
			got := hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
					got = hushv1.ErrorReason(hushv1.ErrorReason_value[info.GetReason()])
				}
			}
			if got != tc.reason {
				t.Errorf("reason %v, want %v", got, tc.reason)
			}
		})
	}
	if !strings.Contains(log.String(), "disk on fire") {
		t.Error("the internal error's detail did not reach the daemon log")
	}
}
