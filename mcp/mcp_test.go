package mcp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/detect"
	"github.com/hush-dev/hush/internal/handoff"
	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/store"
	"github.com/hush-dev/hush/internal/store/filevault"
	"github.com/hush-dev/hush/mcp"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
	"github.com/hush-dev/hush/server"
)

// Values from field cases V1–V5: each must come back byte-exact through
// the script the bridge writes.
var stored = map[string]string{
	"org/api/STRIPE_KEY": "data$extra#tail",
	"org/api/QUOTED":     "it's a key :(",
	"org/api/META":       "foo$bar foo`bar a\"b\\c!*~ $(id)",
	"org/api/PEM":        "-----BEGIN KEY-----\nAAAA\n-----END KEY-----",
	"org/api/NEWLINES":   "ends in two newlines\n\n",
	"org/api/SPACES":     "ends in two spaces  ",
	"org/db":             "the exact org/db value",
	"org/db/PASSWORD":    "the value below org/db",
	// Storable but not exportable (N1, N2), and a collision (N3).
	"bad/my-key":              "value of my-key",
	"bad/api.access.token":    "value of api.access.token",
	"evil/X;touch pwned;Y":    "value of the touch name",
	"evil2/$(touch pwned)":    "value of the substitution name",
	"clash/a/KEY":             "value of clash a",
	"clash/b/KEY":             "value of clash b",
	"files/CERT":              "certificate bytes\n",
	"fishy/FISH_KEY":          "fish 'quoted' $value",
	"plain/ONLY_FOR_PLAINTXT": "never returned in the clear",
}

// daemon runs a real hush daemon in the test process (file vault, server,
// detector) and returns a client of it and its runtime directory.
func daemon(t *testing.T) (*client.Client, string) {
	t.Helper()
	// Short, not t.TempDir(): the socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "hush-mcp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	vaultPath := filepath.Join(dir, "vault.age")
	if err := filevault.Init(vaultPath, filevault.InitOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
	vault, err := filevault.Open(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(dir, "run")
	sock := filepath.Join(runtime, "hush.sock")
	srv := server.New(vault,
		server.WithLogger(slog.New(slog.DiscardHandler)),
		// The caller is this test process; what runs above it (perhaps the
		// developer's own agent) must not decide.
		server.WithDetector(detect.New(detect.WithRoot(os.Getppid()))),
		server.WithHandoffDir(runtime, time.Minute),
		server.WithSocketPath(sock),
	)
	l, err := server.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	c, err := client.Dial(ctx, client.WithSocket(sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("daemon: %v", err)
		}
		vault.Close()
	})
	for name, value := range stored {
		if _, err := c.Set(ctx, name, []byte(value)); err != nil {
			t.Fatalf("storing %s: %v", name, err)
		}
	}
	return c, runtime
}

// session drives a bridge over pipes with raw JSON-RPC, as an MCP client
// would, and keeps every line the bridge writes to its stdout.
type session struct {
	t     *testing.T
	in    *io.PipeWriter
	lines chan []byte
	id    int

	mu  sync.Mutex
	out [][]byte
	log syncBuffer
}

func newSession(t *testing.T, src mcp.Source, runtime string, opts ...mcp.Option) *session {
	t.Helper()
	s := &session{t: t, lines: make(chan []byte, 64)}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s.in = inW
	opts = append([]mcp.Option{mcp.WithLogger(slog.New(slog.NewTextHandler(&s.log, nil)))}, opts...)
	b := mcp.New(src, runtime, opts...)
	served := make(chan error, 1)
	go func() {
		served <- b.Serve(context.Background(), inR, outW)
		outW.Close()
	}()
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(s.lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := bytes.Clone(sc.Bytes())
			s.mu.Lock()
			s.out = append(s.out, line)
			s.mu.Unlock()
			s.lines <- line
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		go func() {
			for range s.lines {
			}
		}()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after its input ended, want nil", err)
		}
		<-read
		s.checkStdout()
	})
	s.call("initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcp_test", "version": "1"},
	})
	s.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatalf("writing to the bridge: %v", err)
	}
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends a request and returns the response with its id.
func (s *session) call(method string, params any) response {
	s.t.Helper()
	s.id++
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": s.id, "method": method, "params": params})
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(string(req))
	return s.await(fmt.Sprint(s.id))
}

func (s *session) await(id string) response {
	s.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("the bridge closed stdout while request %s was open", id)
			}
			var r response
			if json.Unmarshal(line, &r) == nil && string(r.ID) == id {
				return r
			}
		case <-timeout:
			s.t.Fatalf("no response to request %s", id)
		}
	}
}

// tool calls a tool and returns its text and whether it is a tool error.
func (s *session) tool(name string, args map[string]any) (string, bool) {
	s.t.Helper()
	r := s.call("tools/call", map[string]any{"name": name, "arguments": args})
	if r.Error != nil {
		s.t.Fatalf("%s: JSON-RPC error %d: %s", name, r.Error.Code, r.Error.Message)
	}
	var res struct {
		Content []struct{ Type, Text string }
		IsError bool
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		s.t.Fatalf("%s: result: %v", name, err)
	}
	var texts []string
	for _, c := range res.Content {
		if c.Type != "text" {
			s.t.Errorf("%s: content of type %q, want text only", name, c.Type)
		}
		texts = append(texts, c.Text)
	}
	return strings.Join(texts, "\n"), res.IsError
}

// checkStdout is field case M1: every line on stdout is one JSON-RPC 2.0
// message, and no line carries a stored value.
func (s *session) checkStdout() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.out) == 0 {
		s.t.Error("the bridge wrote nothing to stdout")
	}
	for i, line := range s.out {
		var r response
		if err := json.Unmarshal(line, &r); err != nil || r.JSONRPC != "2.0" {
			s.t.Errorf("stdout line %d is not JSON-RPC 2.0 (%v): %.200q", i+1, err, line)
			continue
		}
		isResponse := len(r.ID) > 0 && (r.Result != nil) != (r.Error != nil)
		if r.Method == "" && !isResponse {
			s.t.Errorf("stdout line %d is neither a request, a notification nor a response: %.200q", i+1, line)
		}
		checkNoValue(s.t, fmt.Sprintf("stdout line %d", i+1), line)
	}
	checkNoValue(s.t, "the bridge's log", []byte(s.log.String()))
}

func checkNoValue(t *testing.T, where string, b []byte) {
	t.Helper()
	for name, v := range stored {
		if bytes.Contains(b, []byte(v)) {
			t.Errorf("%s holds the value of %s", where, name)
		}
	}
}

// handoffs lists the handoff files left in dir.
func handoffs(t *testing.T, dir string) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "h-*"))
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// sourceAndDump runs line && env -0 in a fresh bash with a clean
// environment, as an agent's next tool call would, and returns the
// environment it ended with.
func sourceAndDump(t *testing.T, line string) map[string]string {
	t.Helper()
	cmd := exec.Command("bash", "-c", line+" && env -0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash -c %q: %v: %s", line, err, firstLine(stderr.String()))
	}
	env := map[string]string{}
	for kv := range strings.SplitSeq(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func TestGetHandsOverOnlyASourceLine(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	all := map[string]string{}
	for name, v := range stored {
		if secret.Under("org/api", name) {
			all[name[len("org/api/"):]] = v
		}
	}
	tests := []struct {
		name    string
		account string
		want    map[string]string // variable -> value
	}{
		{"an exact name exports its last segment", "org/api/STRIPE_KEY",
			map[string]string{"STRIPE_KEY": stored["org/api/STRIPE_KEY"]}},
		{"a prefix exports every secret below it, byte-exact", "org/api", all},
		{"an exact name wins over the prefix it also is", "org/db",
			map[string]string{"db": stored["org/db"]}},
		{"a trailing slash asks for the prefix only", "org/db/",
			map[string]string{"PASSWORD": stored["org/db/PASSWORD"]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": tt.account})
			checkNoValue(t, "the reply", []byte(text))
			if isErr {
				t.Fatalf("tool error: %s", text)
			}
			lines := strings.Split(text, "\n")
			if len(lines) != 2 {
				t.Fatalf("reply has %d lines, want the source line and one line of guidance: %q", len(lines), text)
			}
			loader, path, err := handoff.ParseSourceLine(lines[0])
			if err != nil {
				t.Fatal(err)
			}
			if loader != handoff.Source || filepath.Dir(path) != runtime {
				t.Errorf("first line %q, want a source line (the default) of a script in %s", lines[0], runtime)
			}
			for _, want := range []string{"source '…' && ", "do not print"} {
				if !strings.Contains(lines[1], want) {
					t.Errorf("guidance %q does not say %q", lines[1], want)
				}
			}
			for v := range tt.want {
				if !strings.Contains(lines[1], v) {
					t.Errorf("guidance %q does not name the variable %s", lines[1], v)
				}
			}

			env := sourceAndDump(t, lines[0])
			for v, want := range tt.want {
				if got, ok := env[v]; !ok || got != want {
					t.Errorf("after sourcing, %s is not byte-exact the stored value (set: %v, length %d, want %d)", v, ok, len(got), len(want))
				}
			}
			if left := handoffs(t, runtime); len(left) > 0 {
				t.Errorf("the script did not delete itself: %v", left)
			}
		})
	}
}

func TestGetFailsWithOneLineAndWritesNothing(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	tests := []struct {
		name string
		args map[string]any
		want []string // substrings of the error
	}{
		{"a name whose last segment is not a variable name is refused (N1)",
			map[string]any{"account": "bad/my-key"}, []string{"bad/my-key", "not exportable"}},
		{"a prefix holding unexportable names names each of them (N1)",
			map[string]any{"account": "bad"}, []string{"bad/my-key", "bad/api.access.token"}},
		{"a name carrying shell syntax never reaches a script (N2)",
			map[string]any{"account": "evil/X;touch pwned;Y"}, []string{"not exportable"}},
		{"a name carrying a command substitution never reaches a script (N2)",
			map[string]any{"account": "evil2/$(touch pwned)"}, []string{"not exportable"}},
		{"two secrets exporting the same variable are both named (N3)",
			map[string]any{"account": "clash"}, []string{"clash/a/KEY", "clash/b/KEY"}},
		{"an unknown name says so",
			map[string]any{"account": "nope/MISSING"}, []string{"nope/MISSING", "hush_list"}},
		{"an invalid name says why",
			map[string]any{"account": "a//b"}, []string{"a//b", "invalid"}},
		{"a missing account is asked for",
			map[string]any{}, []string{"account is required"}},
		{"an unknown shell is refused",
			map[string]any{"account": "org/api/STRIPE_KEY", "shell": "tcsh"}, []string{"tcsh", "posix", "dash", "fish"}},
		{"an account that is not a string names the argument and the type",
			map[string]any{"account": 5}, []string{"account", "must be a string", "got a number"}},
		{"a shell that is an object is refused, not ignored",
			map[string]any{"account": "org/api/STRIPE_KEY", "shell": map[string]any{"a": 1}}, []string{"shell", "must be a string", "got an object"}},
		{"a shell that is a number is refused",
			map[string]any{"account": "org/api/STRIPE_KEY", "shell": 1}, []string{"shell", "must be a string", "got a number"}},
		{"as_file as a string is refused, not read as true or false",
			map[string]any{"account": "files/CERT", "as_file": "true"}, []string{"as_file", "must be a boolean", "got a string"}},
		{"as_file as a number is refused",
			map[string]any{"account": "files/CERT", "as_file": 1}, []string{"as_file", "must be a boolean", "got a number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, isErr := s.tool(mcp.ToolGet, tt.args)
			checkNoValue(t, "the error", []byte(text))
			if !isErr {
				t.Fatalf("not a tool error: %q", text)
			}
			if strings.Contains(text, "\n") {
				t.Errorf("error spans lines: %q", text)
			}
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("error %q does not mention %q", text, want)
				}
			}
			if left := handoffs(t, runtime); len(left) > 0 {
				t.Errorf("a refused call left files behind: %v", left)
			}
		})
	}
}

func TestGetAsFileExportsPathsNotValues(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": "files/CERT", "as_file": true})
	if isErr {
		t.Fatalf("tool error: %s", text)
	}
	checkNoValue(t, "the reply", []byte(text))
	line, _, _ := strings.Cut(text, "\n")
	env := sourceAndDump(t, line)
	if _, ok := env["CERT"]; ok {
		t.Error("as_file exported CERT itself, want only CERT_FILE")
	}
	path := env["CERT_FILE"]
	if filepath.Dir(path) != runtime {
		t.Fatalf("CERT_FILE = %q, want a file in %s", path, runtime)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("value file mode %v, want 0600", fi.Mode().Perm())
	}
	if got, _ := os.ReadFile(path); string(got) != stored["files/CERT"] {
		t.Error("the value file does not hold the stored bytes")
	}
	// The script is gone; the value file stays for the tool, until the reaper.
	if left := handoffs(t, runtime); len(left) != 1 || left[0] != path {
		t.Errorf("files left: %v, want only the value file", left)
	}
}

func TestGetWritesFishWhenAsked(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": "fishy/FISH_KEY", "shell": "fish"})
	if isErr {
		t.Fatalf("tool error: %s", text)
	}
	line, _, _ := strings.Cut(text, "\n")
	loader, path, err := handoff.ParseSourceLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if loader != handoff.Source {
		t.Errorf("fish got %q, want a source line", line)
	}
	t.Cleanup(func() { os.Remove(path) })
	script, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(script, []byte("set -gx -- FISH_KEY ")) {
		t.Error("the script is not in the fish dialect")
	}
	fish, err := exec.LookPath("fish")
	if err != nil {
		return // the dialect itself is handoff's to test; running it needs apt package fish
	}
	out, err := exec.Command(fish, "--no-config", "-c", line+"; and printf %s $FISH_KEY").Output()
	if err != nil || string(out) != stored["fishy/FISH_KEY"] {
		t.Errorf("fish did not get the value byte-exact (%v)", err)
	}
}

// fixedSource answers as a daemon could but a test cannot make the real
// one do on demand: a PLAINTEXT delivery (that takes a person at a
// terminal), a failure, or a crash.
type fixedSource struct {
	delivery hushv1.Delivery
	err      error
	crash    bool
}

func (f fixedSource) Get(ctx context.Context, name string) (*client.Result, error) {
	if f.crash {
		panic("the source crashed")
	}
	if f.err != nil {
		return nil, f.err
	}
	v, ok := stored[name]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &client.Result{
		Delivery: f.delivery,
		Caller:   &hushv1.Caller{Verdict: hushv1.Verdict_VERDICT_PERSON},
		Secrets:  []secret.Secret{{Name: name, Value: []byte(v)}},
	}, nil
}

func (f fixedSource) GetPrefix(ctx context.Context, prefix string) (*client.Result, error) {
	return nil, store.ErrNotFound
}

func (f fixedSource) List(ctx context.Context, prefix string) ([]*hushv1.SecretInfo, error) {
	if f.err != nil {
		return nil, f.err
	}
	return nil, nil
}

func TestGetNeverReturnsAValueEvenToAPerson(t *testing.T) {
	runtime := filepath.Join(t.TempDir(), "run")
	s := newSession(t, fixedSource{delivery: hushv1.Delivery_DELIVERY_PLAINTEXT}, runtime)
	text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": "plain/ONLY_FOR_PLAINTXT"})
	if isErr {
		t.Fatalf("tool error: %s", text)
	}
	checkNoValue(t, "the reply", []byte(text))
	line, _, _ := strings.Cut(text, "\n")
	if env := sourceAndDump(t, line); env["ONLY_FOR_PLAINTXT"] != stored["plain/ONLY_FOR_PLAINTXT"] {
		t.Error("the handoff did not carry the value")
	}
}

func TestListShowsNamesOnly(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	tests := []struct {
		name    string
		prefix  string
		want    []string
		wantNot []string
	}{
		{"everything, with the variable each exports as", "",
			[]string{"org/api/STRIPE_KEY  (exports STRIPE_KEY)", "bad/my-key  (not exportable", "clash/b/KEY"}, nil},
		{"only what lies below a prefix", "org/api",
			[]string{"org/api/PEM", "org/api/SPACES"}, []string{"org/db", "bad/"}},
		{"an empty prefix says there is nothing", "nothing/here",
			[]string{"No secrets are stored at or below nothing/here."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, isErr := s.tool(mcp.ToolList, map[string]any{"prefix": tt.prefix})
			if isErr {
				t.Fatalf("tool error: %s", text)
			}
			checkNoValue(t, "the list", []byte(text))
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("list does not show %q:\n%s", w, text)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(text, w) {
					t.Errorf("list shows %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestStdoutCarriesOnlyJSONRPC is field case M1 for the bridge: whatever
// goes wrong, stdout stays a clean JSON-RPC stream (newSession's cleanup
// checks every line) and the story of what went wrong is in the log.
func TestArgumentsOfTheWrongTypeAreToolErrors(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	tests := []struct {
		name string
		tool string
		args any
		want []string // substrings of the error
	}{
		{"a prefix that is a number does not list everything", mcp.ToolList,
			map[string]any{"prefix": 5}, []string{"hush_list", "prefix", "must be a string", "got a number"}},
		{"a prefix that is an array", mcp.ToolList,
			map[string]any{"prefix": []any{"org"}}, []string{"prefix", "must be a string", "got an array"}},
		{"list arguments that are not an object", mcp.ToolList,
			[]any{"org"}, []string{"hush_list", "must be an object", "got an array"}},
		{"get arguments that are not an object", mcp.ToolGet,
			"org/api/STRIPE_KEY", []string{"hush_get", "must be an object", "got a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.call("tools/call", map[string]any{"name": tt.tool, "arguments": tt.args})
			if r.Error != nil {
				t.Fatalf("JSON-RPC error %d: %s", r.Error.Code, r.Error.Message)
			}
			var res struct {
				Content []struct{ Text string }
				IsError bool
			}
			if err := json.Unmarshal(r.Result, &res); err != nil || len(res.Content) != 1 {
				t.Fatalf("result %s: %v", r.Result, err)
			}
			text := res.Content[0].Text
			if !res.IsError {
				t.Fatalf("not a tool error: %q", text)
			}
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("error %q does not say %q", text, want)
				}
			}
			if strings.Contains(text, "\n") {
				t.Errorf("error spans lines: %q", text)
			}
		})
	}
	t.Run("null is an argument left out", func(t *testing.T) {
		text, isErr := s.tool(mcp.ToolList, map[string]any{"prefix": nil})
		if isErr || !strings.Contains(text, "org/api/STRIPE_KEY") {
			t.Errorf("hush_list with a null prefix: %q (error %v)", text, isErr)
		}
	})
}

func TestGetGivesADotLineToShellsWithoutSource(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	for _, tt := range []struct {
		shell  string
		loader handoff.Loader
	}{
		{"dash", handoff.Dot}, {"sh", handoff.Dot}, {"ksh", handoff.Dot},
		{"bash", handoff.Source}, {"zsh", handoff.Source}, {"posix", handoff.Source},
	} {
		t.Run(tt.shell, func(t *testing.T) {
			text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": "org/api/STRIPE_KEY", "shell": tt.shell})
			if isErr {
				t.Fatalf("tool error: %s", text)
			}
			line, guide, _ := strings.Cut(text, "\n")
			loader, path, err := handoff.ParseSourceLine(line)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(path) })
			if loader != tt.loader {
				t.Errorf("shell %s got %q, want a line starting with %q", tt.shell, line, tt.loader)
			}
			if want := tt.loader.String() + " '…' && "; !strings.Contains(guide, want) {
				t.Errorf("guidance %q does not say %q", guide, want)
			}
		})
	}
	t.Run("dash runs the line it is given", func(t *testing.T) {
		dash, err := exec.LookPath("dash")
		if err != nil {
			t.Skip("dash is not installed: apt-get install -y dash")
		}
		text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": "org/api/STRIPE_KEY", "shell": "dash"})
		if isErr {
			t.Fatalf("tool error: %s", text)
		}
		line, _, _ := strings.Cut(text, "\n")
		cmd := exec.Command(dash, "-c", line+` && printf %s "$STRIPE_KEY"`)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || string(out) != stored["org/api/STRIPE_KEY"] {
			t.Errorf("dash -c %q: %v: %s", line, err, firstLine(stderr.String()))
		}
	})
}

func TestStdoutCarriesOnlyJSONRPC(t *testing.T) {
	tests := []struct {
		name string
		src  mcp.Source
		do   func(s *session)
	}{
		{"a line that is not JSON", fixedSource{}, func(s *session) {
			s.send("this is not json")
			s.call("ping", nil)
		}},
		{"an unknown method", fixedSource{}, func(s *session) {
			if r := s.call("no/such/method", nil); r.Error == nil {
				s.t.Error("an unknown method got no JSON-RPC error")
			}
		}},
		{"an unknown tool", fixedSource{}, func(s *session) {
			s.call("tools/call", map[string]any{"name": "hush_print_value", "arguments": map[string]any{}})
		}},
		{"the daemon is unreachable", fixedSource{err: client.ErrUnreachable}, func(s *session) {
			if text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": "org/api/PEM"}); !isErr || !strings.Contains(text, "unreachable") {
				s.t.Errorf("got %q, want a tool error saying the daemon is unreachable", text)
			}
			if _, isErr := s.tool(mcp.ToolList, nil); !isErr {
				s.t.Error("hush_list did not fail")
			}
			if !strings.Contains(s.log.String(), "daemon unreachable") {
				s.t.Errorf("the failure is not in the log: %q", s.log.String())
			}
		}},
		{"the source crashes", fixedSource{crash: true}, func(s *session) {
			s.call("tools/call", map[string]any{"name": mcp.ToolGet, "arguments": map[string]any{"account": "org/api/PEM"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, tt.src, filepath.Join(t.TempDir(), "run"))
			tt.do(s)
			s.call("ping", nil) // still answering
		})
	}
}

func TestServeStopsCleanlyWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	defer inW.Close()
	served := make(chan error, 1)
	go func() { served <- mcp.New(fixedSource{}, t.TempDir()).Serve(ctx, inR, io.Discard) }()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// An argument has no bound, and whatever a tool error says lands in the
// agent's context: an oversized account or shell is quoted short, in the
// error and in the bridge's log.
func TestAnOversizedArgumentIsQuotedShort(t *testing.T) {
	c, runtime := daemon(t)
	s := newSession(t, c, runtime)
	huge := strings.Repeat("a", 300_000)
	for _, args := range []map[string]any{
		{"account": huge},
		{"account": huge + "/"},
		{"account": huge, "shell": huge},
		{"account": "org/api/STRIPE_KEY", "shell": huge},
	} {
		text, isErr := s.tool(mcp.ToolGet, args)
		if !isErr {
			t.Fatalf("not a tool error: %.200q", text)
		}
		if len(text) > 1000 || strings.Contains(text, "\n") {
			t.Errorf("error of %d bytes: %.300q", len(text), text)
		}
	}
	// A terminal escape or bidi control in an argument is written escaped.
	for _, account := range []string{"x/K\x1b[2J", "x/\u202eK", "nope/\x1b]0;title\a"} {
		text, isErr := s.tool(mcp.ToolGet, map[string]any{"account": account})
		if !isErr || strings.ContainsAny(text, "\x1b\a\u202e") {
			t.Errorf("hush_get %q: error %v, text %q", account, isErr, text)
		}
	}
	text, isErr := s.tool(mcp.ToolList, map[string]any{"prefix": huge})
	if !isErr || len(text) > 1000 {
		t.Errorf("hush_list: error %v, %d bytes: %.300q", isErr, len(text), text)
	}
	if n := len(s.log.String()); n > 10_000 {
		t.Errorf("the bridge logged %d bytes for five refused calls", n)
	}
}
