package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/proctree"
	"github.com/hush-dev/hush/internal/secret"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// A process chooses its name and arguments, any bytes but NUL; a reply
// carrying them raw would not marshal, and the call would fail after it
// was recorded as done.
func TestProcessStringsReachTheReplyAsUTF8(t *testing.T) {
	c := Caller{
		Verdict: detect.Verdict{Kind: detect.Agent, Agent: "cl\xffaude", Signal: "classification failed: environment of pid 7 (sh\xe9): gone"},
		Chain: []proctree.Process{
			{PID: 9, Comm: "hush", Exe: "/usr/bin/hush", Argv: []string{"hush", "get", "x/KEY"}},
			{PID: 8, Comm: "bash", Exe: "/bin/bash", Argv: []string{"bash", "-c", "hush get x/KEY; true", "\xe9"}, Cwd: "/tmp/\xff"},
			{PID: 7, Comm: "sh\xe9", Exe: "/tmp/d\xe9/sh\xe9", Argv: []string{"sh\xe9", "a\nb"}},
		},
	}
	out := callerProto(c)
	if _, err := proto.Marshal(&hushv1.GetResponse{Caller: out}); err != nil {
		t.Fatalf("the reply does not marshal: %v", err)
	}
	for _, check := range []struct{ what, got, want string }{
		{"the agent", out.GetAgent(), `cl\xffaude`},
		{"the signal", out.GetSignal(), `classification failed: environment of pid 7 (sh\xe9): gone`},
		{"an argument", out.GetChain()[1].GetArgv()[3], `\xe9`},
		{"the other arguments", strings.Join(out.GetChain()[1].GetArgv()[:3], " "), "bash -c hush get x/KEY; true"},
		{"a comm", out.GetChain()[2].GetComm(), `sh\xe9`},
		{"an exe", out.GetChain()[2].GetExe(), `/tmp/d\xe9/sh\xe9`},
		{"a line break, which is UTF-8", out.GetChain()[2].GetArgv()[1], "a\nb"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %q, want %q", check.what, check.got, check.want)
		}
	}
	if c.Chain[1].Argv[3] != "\xe9" {
		t.Error("callerProto changed the caller's own chain")
	}
}

// The log is JSON the daemon writes as UTF-8, but a person can edit it.
func TestAuditRecordsReadBackReachTheStreamAsUTF8(t *testing.T) {
	r := audit.Record{Time: time.Now(), Operation: "Get\xff", Names: []string{"ok/NAME", "x\xe9"}, Prefix: "p\xe9",
		Chain: "sh\xe9<bash", Agent: "a\xe9", Signal: "s\xe9", Rule: "r\xe9", Approval: "ap\xe9", Result: "ok\xe9",
		Backend: "file\xe9", MAC: "m\xe9"}
	out := recordProto(r)
	if _, err := proto.Marshal(out); err != nil {
		t.Fatalf("the record does not marshal: %v", err)
	}
	if out.GetNames()[0] != "ok/NAME" || out.GetNames()[1] != `x\xe9` || out.GetChain() != `sh\xe9<bash` {
		t.Errorf("record names %q, chain %q", out.GetNames(), out.GetChain())
	}
}

// An error can quote a process (the signal of a failed classification in
// a denial) or an approver's answer; gRPC would turn the bytes into U+FFFD
// and drop the reason it cannot marshal, so the client could no longer
// tell a denial from any other failure.
func TestAnErrorQuotingInvalidUTF8KeepsItsBytesAndItsReason(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"a denial built by the daemon", denied("the caller is agent, by classification failed: environment of pid 7 (sh\xe9)")},
		{"a status built by a handler", refusal("not approved: the approver said n\xe9in")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(s.toStatus("/hush.v1.SecretService/Get", tc.err))
			if _, err := proto.Marshal(st.Proto()); err != nil {
				t.Fatalf("the status does not marshal: %v", err)
			}
			if st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), `\xe9`) {
				t.Errorf("status %v %q, want PermissionDenied with the byte written out", st.Code(), st.Message())
			}
			var reason string
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok {
					reason = info.GetReason()
				}
			}
			if reason != hushv1.ErrorReason_ERROR_REASON_DENIED.String() {
				t.Errorf("reason %q, want DENIED", reason)
			}
		})
	}
}

// A name is quoted short in every refusal the daemon words itself, and its
// audit record holds it shortened.
func TestARefusedReservedNameIsQuotedShort(t *testing.T) {
	huge := reservedPrefix + "/" + strings.Repeat("a", 2_000_000)
	err := refuseReserved(&hushv1.GetRequest{Name: huge})
	if !errors.Is(err, secret.ErrInvalidName) || len(err.Error()) > 400 || !strings.Contains(err.Error(), fmt.Sprintf("(%d bytes)", len(huge))) {
		t.Errorf("refuseReserved = %.200q… (%d bytes)", err, len(err.Error()))
	}
	rec := auditRecord(Caller{}, "Get", &hushv1.GetRequest{Name: huge}, nil, err)
	if len(rec.Names) != 1 || len(rec.Names[0]) > 100 || !strings.HasPrefix(rec.Names[0], ".hush/aaa") {
		t.Errorf("the record names %.200q", rec.Names)
	}
}
