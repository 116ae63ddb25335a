package server

import (
	"context"
	"errors"
	"syscall"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/seal"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail that carries
// a hushv1.ErrorReason on every failed call the daemon can name.
const ErrorDomain = "hush.v1"

// unmet is a request the store cannot honour as it is (locking a vault
// that has no passphrase); the store's own message says why.
type unmet struct{ err error }

func (u *unmet) Error() string { return u.err.Error() }
func (u *unmet) Unwrap() error { return u.err }

// internalMessage is all a client learns of an unexpected failure; the
// detail goes to the daemon's log, where the user can read it and an
// agent's transcript cannot.
const internalMessage = "internal error in the hush daemon; see its log"

// denial is a rule refusing the caller.
type denial struct{ rule string }

func denied(rule string) error  { return &denial{rule: rule} }
func (d *denial) Error() string { return "denied: " + d.rule }

// toStatus is the one translation from the daemon's errors to gRPC status.
// Every message it passes on names secrets, never values: the packages
// below build their errors that way, and anything unexpected is replaced by
// internalMessage. Messages can quote what a caller or a process chose
// (a signal naming a process, an approver's answer), so they are made
// UTF-8: gRPC would otherwise replace the bytes with U+FFFD in the message
// and drop the details (the ErrorInfo reason) it cannot marshal.
func (s *Server) toStatus(method string, err error) error {
	if st, ok := status.FromError(err); ok {
		if utf8.ValidString(st.Message()) {
			return err
		}
		p := st.Proto()
		p.Message = termtext.ValidUTF8(p.Message)
		return status.FromProto(p).Err()
	}
	var (
		d *denial
		u *unmet
	)
	var (
		code   codes.Code
		reason hushv1.ErrorReason
	)
	switch {
	case errors.As(err, &d):
		code, reason = codes.PermissionDenied, hushv1.ErrorReason_ERROR_REASON_DENIED
	case errors.Is(err, store.ErrNotFound):
		code, reason = codes.NotFound, hushv1.ErrorReason_ERROR_REASON_NOT_FOUND
	case errors.Is(err, store.ErrLocked):
		code, reason = codes.FailedPrecondition, hushv1.ErrorReason_ERROR_REASON_LOCKED
	case errors.Is(err, store.ErrBadPassphrase):
		code, reason = codes.Unauthenticated, hushv1.ErrorReason_ERROR_REASON_BAD_PASSPHRASE
	case errors.Is(err, secret.ErrInvalidName):
		code, reason = codes.InvalidArgument, hushv1.ErrorReason_ERROR_REASON_INVALID_NAME
	case errors.Is(err, secret.ErrInvalidValue):
		code, reason = codes.InvalidArgument, hushv1.ErrorReason_ERROR_REASON_INVALID_VALUE
	case errors.Is(err, seal.ErrUnsupported):
		code = codes.InvalidArgument
	case errors.As(err, &u):
		code = codes.FailedPrecondition
	case storageErrno(err) != 0:
		// Disk full, read-only or failing: the user can act on it, and the
		// log may sit on the very disk that is full. A failed write leaves
		// the vault as it was, unless the store says the change was made.
		// Not Unavailable: the daemon answers; clients read that as gone.
		s.log.Error("call failed", "method", method, "err", err)
		if errors.Is(err, store.ErrWritten) {
			return status.Error(codes.ResourceExhausted, "the vault's storage failed after the change was made: "+termtext.ValidUTF8(err.Error()))
		}
		return status.Error(codes.ResourceExhausted, "the vault's storage failed: "+storageErrno(err).Error()+" (nothing was changed; the daemon's log has the details)")
	case errors.Is(err, store.ErrWritten):
		// Part of the change was made (a batch on a store without
		// batches, or a write not known durable): say so, not "internal".
		s.log.Error("call failed", "method", method, "err", err)
		return status.Error(codes.Aborted, "the change was made only in part or may not last: "+termtext.ValidUTF8(err.Error()))
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "call canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "call deadline exceeded")
	default:
		s.log.Error("call failed", "method", method, "err", err)
		return status.Error(codes.Internal, internalMessage)
	}
	st := status.New(code, termtext.ValidUTF8(err.Error()))
	if reason != hushv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: ErrorDomain}); derr == nil {
			st = withInfo
		}
	}
	return st.Err()
}

// storageErrno is the errno of a storage failure a person can fix (a full
// disk or quota, a read-only or failing file system), or 0.
func storageErrno(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO:
			return errno
		}
	}
	return 0
}
