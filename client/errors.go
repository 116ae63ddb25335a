package client

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// errorDomain matches server.ErrorDomain; repeated rather than imported so
// a client does not link the daemon.
const errorDomain = "hush.v1"

// reasons maps the daemon's ErrorReason back to the error it stood for.
var reasons = map[hushv1.ErrorReason]error{
	hushv1.ErrorReason_ERROR_REASON_NOT_FOUND:      store.ErrNotFound,
	hushv1.ErrorReason_ERROR_REASON_LOCKED:         store.ErrLocked,
	hushv1.ErrorReason_ERROR_REASON_BAD_PASSPHRASE: store.ErrBadPassphrase,
	hushv1.ErrorReason_ERROR_REASON_INVALID_NAME:   secret.ErrInvalidName,
	hushv1.ErrorReason_ERROR_REASON_INVALID_VALUE:  secret.ErrInvalidValue,
	hushv1.ErrorReason_ERROR_REASON_DENIED:         ErrDenied,
}

// codeErrors is the fallback when a status carries no reason (another
// server version, or grpc itself).
var codeErrors = map[codes.Code]error{
	codes.NotFound:         store.ErrNotFound,
	codes.Unauthenticated:  store.ErrBadPassphrase,
	codes.PermissionDenied: ErrDenied,
	codes.Unavailable:      ErrUnreachable,
}

// Error is a failed call: its text is the daemon's one-line message, and
// errors.Is matches the sentinel the daemon meant.
type Error struct {
	Code    codes.Code
	Message string
	err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.err }

// fromStatus is the one translation from gRPC status back to hush's errors.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	out := &Error{Code: st.Code(), Message: st.Message(), err: codeErrors[st.Code()]}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != errorDomain {
			continue
		}
		if sentinel, ok := reasons[hushv1.ErrorReason(hushv1.ErrorReason_value[info.GetReason()])]; ok {
			out.err = sentinel
		}
	}
	if st.Code() == codes.Unavailable {
		out.Message = "hush daemon unreachable: " + st.Message()
	}
	return out
}
