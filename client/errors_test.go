package client

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

func withReason(code codes.Code, msg string, reason hushv1.ErrorReason, domain string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: domain})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestFromStatusIsTheOneMappingBack(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
		msg  string
	}{
		{"NOT_FOUND comes back as store.ErrNotFound", withReason(codes.NotFound, `secret "a/B" not found`, hushv1.ErrorReason_ERROR_REASON_NOT_FOUND, errorDomain), store.ErrNotFound, `secret "a/B" not found`},
		{"LOCKED comes back as store.ErrLocked", withReason(codes.FailedPrecondition, "store is locked", hushv1.ErrorReason_ERROR_REASON_LOCKED, errorDomain), store.ErrLocked, "store is locked"},
		{"BAD_PASSPHRASE comes back as store.ErrBadPassphrase", withReason(codes.Unauthenticated, "wrong passphrase", hushv1.ErrorReason_ERROR_REASON_BAD_PASSPHRASE, errorDomain), store.ErrBadPassphrase, "wrong passphrase"},
		{"INVALID_NAME comes back as secret.ErrInvalidName", withReason(codes.InvalidArgument, "bad name", hushv1.ErrorReason_ERROR_REASON_INVALID_NAME, errorDomain), secret.ErrInvalidName, "bad name"},
		{"INVALID_VALUE comes back as secret.ErrInvalidValue", withReason(codes.InvalidArgument, "bad value", hushv1.ErrorReason_ERROR_REASON_INVALID_VALUE, errorDomain), secret.ErrInvalidValue, "bad value"},
		{"DENIED comes back as ErrDenied", withReason(codes.PermissionDenied, "denied: rule", hushv1.ErrorReason_ERROR_REASON_DENIED, errorDomain), ErrDenied, "denied: rule"},
		{"a reason from another domain is ignored", withReason(codes.InvalidArgument, "x", hushv1.ErrorReason_ERROR_REASON_INVALID_NAME, "other.v1"), nil, "x"},
		{"NotFound without a reason still means not found", status.Error(codes.NotFound, "gone"), store.ErrNotFound, "gone"},
		{"PermissionDenied without a reason still means denied", status.Error(codes.PermissionDenied, "uid 1001"), ErrDenied, "uid 1001"},
		{"a precondition without a reason is not a lock", status.Error(codes.FailedPrecondition, "cannot be locked"), nil, "cannot be locked"},
		{"Unavailable means the daemon is unreachable", status.Error(codes.Unavailable, "connection refused"), ErrUnreachable, "hush daemon unreachable: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fromStatus(tc.err)
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%v is not %v", err, tc.want)
			}
			for _, other := range []error{store.ErrNotFound, store.ErrLocked, store.ErrBadPassphrase, secret.ErrInvalidName, secret.ErrInvalidValue, ErrDenied, ErrUnreachable} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("%v also matches %v", err, other)
				}
			}
		})
	}
	t.Run("no error stays no error", func(t *testing.T) {
		if fromStatus(nil) != nil {
			t.Fatal("fromStatus(nil) != nil")
		}
	})
	t.Run("an error that is not a status passes through", func(t *testing.T) {
		plain := errors.New("plain")
		if fromStatus(plain) != plain {
			t.Fatal("a plain error was rewritten")
		}
	})
}
