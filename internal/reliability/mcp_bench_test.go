package reliability_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mcpSession speaks JSON-RPC to a running `hush mcp` over its stdio.
type mcpSession struct {
	in  io.WriteCloser
	out *bufio.Scanner
	id  int
}

type mcpResponse struct {
	ID     int `json:"id"`
	Result struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (s *mcpSession) call(method string, params any) (mcpResponse, error) {
	s.id++
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": s.id, "method": method, "params": params})
	if err != nil {
		return mcpResponse{}, err
	}
	if _, err := s.in.Write(append(req, '\n')); err != nil {
		return mcpResponse{}, err
	}
	for s.out.Scan() {
		var r mcpResponse
		if json.Unmarshal(s.out.Bytes(), &r) == nil && r.ID == s.id {
			if r.Error != nil {
				return r, fmt.Errorf("%s: %s", method, r.Error.Message)
			}
			return r, nil
		}
	}
	return mcpResponse{}, fmt.Errorf("%s: the bridge closed its stdout (%v)", method, s.out.Err())
}

var sourceLine = regexp.MustCompile(`source '([^']+)'`)

// BenchmarkMCPGet measures one hush_get tool call through a running
// `hush mcp`: the JSON-RPC request on its stdin, the Get over its daemon
// connection, the handoff script written, the `source '…'` line back on
// its stdout.
func BenchmarkMCPGet(b *testing.B) {
	h := newBenchHome(b)
	h.startDaemon(b)
	ctx := context.Background()
	c := h.dial(b)
	const name = "bench/api/STRIPE_KEY"
	if _, err := c.Set(ctx, name, valueFor(name, 0)); err != nil {
		b.Fatal(err)
	}

	bridge := h.command(b, "mcp")
	in, err := bridge.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := bridge.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	bridge.Stderr = io.Discard
	bridge.WaitDelay = 5 * time.Second
	if err := bridge.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close() // the bridge stops at the end of its input
		if err := bridge.Wait(); err != nil {
			b.Errorf("hush mcp: %v", err)
		}
	})
	s := &mcpSession{in: in, out: bufio.NewScanner(out)}
	s.out.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if _, err := s.call("initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "hush-bench", "version": "1"},
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := in.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")); err != nil {
		b.Fatal(err)
	}

	args := map[string]any{"name": "hush_get", "arguments": map[string]any{"account": name}}
	for b.Loop() {
		r, err := s.call("tools/call", args)
		if err != nil {
			b.Fatal(err)
		}
		if r.Result.IsError || len(r.Result.Content) == 0 {
			b.Fatalf("hush_get failed: %+v", r.Result)
		}
		text := r.Result.Content[0].Text
		if strings.Contains(text, valuePrefix) {
			b.Fatal("hush_get returned the value")
		}
		m := sourceLine.FindStringSubmatch(text)
		if m == nil {
			b.Fatalf("hush_get returned no source line: %q", text)
		}
		// Nobody sources it here; the daemon would reap it after its TTL.
		if err := os.Remove(m[1]); err != nil {
			b.Fatal(err)
		}
	}
	h.checkLog(b)
}
