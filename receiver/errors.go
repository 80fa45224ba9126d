package receiver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// RetryAfter is the delay a refused sender is told to wait: the HTTP Retry-After
// header (whole seconds) and the gRPC RetryInfo detail.
const RetryAfter = time.Second

// kind is a class of refusal; mapError turns it into an HTTP status and a gRPC code.
type kind int

const (
	kindInternal kind = iota
	kindBadRequest
	kindUnauthenticated
	kindNotFound
	kindMethod
	kindTooLarge
	kindMediaType
	kindUnavailable
)

// refusal is a request refused by the receiver itself, with a message for the sender.
type refusal struct {
	kind kind
	msg  string
}

func (e *refusal) Error() string { return e.msg }

// Is makes refusals of kind unavailable match ErrUnavailable.
func (e *refusal) Is(target error) bool { return target == ErrUnavailable && e.kind == kindUnavailable }

func refuse(k kind, format string, args ...any) error {
	return &refusal{kind: k, msg: fmt.Sprintf(format, args...)}
}

// mapError is the one place that says how an error is answered: its HTTP status,
// its gRPC code, and whether the sender should retry (Retry-After / RetryInfo).
// Consumer errors wrapping ErrUnavailable are retryable; any other consumer
// error is an internal error.
func mapError(err error) (httpStatus int, code codes.Code, retry bool) {
	if errors.Is(err, ErrUnavailable) {
		return http.StatusServiceUnavailable, codes.Unavailable, true
	}
	var r *refusal
	if !errors.As(err, &r) {
		return http.StatusInternalServerError, codes.Internal, false
	}
	switch r.kind {
	case kindBadRequest:
		return http.StatusBadRequest, codes.InvalidArgument, false
	case kindUnauthenticated:
		return http.StatusUnauthorized, codes.Unauthenticated, false
	case kindNotFound:
		return http.StatusNotFound, codes.Unimplemented, false
	case kindMethod:
		return http.StatusMethodNotAllowed, codes.Unimplemented, false
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge, codes.ResourceExhausted, false
	case kindMediaType:
		return http.StatusUnsupportedMediaType, codes.InvalidArgument, false
	}
	return http.StatusInternalServerError, codes.Internal, false
}

// grpcStatus converts err into the gRPC status the client sees, with a RetryInfo
// detail when the sender should retry. The message is made valid UTF-8, as
// protobuf strings must be: decoding errors may quote the bad input.
func grpcStatus(err error) *status.Status {
	_, code, retry := mapError(err)
	st := status.New(code, strings.ToValidUTF8(err.Error(), "\uFFFD"))
	if retry {
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(RetryAfter)}); derr == nil {
			st = d
		}
	}
	return st
}
