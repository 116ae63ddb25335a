package audit_test

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hush-dev/hush/internal/audit"
)

// written makes a closed log of n sealed records and returns the head a
// daemon would have kept for it.
func written(t *testing.T, path string, n int, opts ...audit.Option) audit.Head {
	t.Helper()
	l, err := audit.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.SetKey(testKey); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, n, "Get")
	h, err := l.Head()
	if err != nil {
		t.Fatal(err)
	}
	if h.MAC == "" || h.Line < 1 || h.Gen < 1 {
		t.Fatalf("head after %d sealed records: %+v", n, h)
	}
	return h
}

// reopened is the next daemon's log, checked against the kept head.
func reopened(t *testing.T, path string, h audit.Head, opts ...audit.Option) (*audit.Log, *audit.Break) {
	t.Helper()
	l := openLog(t, path, opts...)
	if err := l.SetKey(testKey); err != nil {
		t.Fatal(err)
	}
	b, err := l.CheckHead(h)
	if err != nil {
		t.Fatal(err)
	}
	return l, b
}

func TestACutEndIsCaughtAfterARestartByTheKeptHead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cut    func(t *testing.T, path string)
		line   int    // where the break is reported
		reason string // part of its reason
	}{
		{"records removed from the end", func(t *testing.T, path string) {
			writeLines(t, path, lines(t, path)[:3])
		}, 4, "names line 6"},
		{"the log emptied", func(t *testing.T, path string) {
			writeLines(t, path, nil)
		}, 1, "names line 6"},
		{"the log deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, 1, "names line 6"},
		{"records removed and others written in their place", func(t *testing.T, path string) {
			writeLines(t, path, lines(t, path)[:3])
			l, _ := audit.Open(path)
			l.SetKey(testKey)
			appendN(t, l, 5, "Set")
			l.Close()
		}, 6, "MAC differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			h := written(t, path, 6)
			tc.cut(t, path)
			l, b := reopened(t, path, h)
			if b == nil || b.File != path || b.Line != tc.line || !strings.Contains(b.Reason, tc.reason) {
				t.Fatalf("CheckHead = %v, want %s line %d: …%s…", b, path, tc.line, tc.reason)
			}
			appendN(t, l, 2, "Get") // the next daemon writes on
			rep := verify(t, l)
			if rep.Broken == nil || *rep.Broken != *b {
				t.Errorf("Verify reports %v, want the cut %v", rep.Broken, b)
			}
			next, err := l.Head()
			if err != nil || next.Cut == nil || *next.Cut != *b {
				t.Errorf("the next head %+v (%v) does not carry the cut", next, err)
			}
		})
	}
}

func TestALogThatReachesTheKeptHeadPasses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	h := written(t, path, 3)
	l, _ := audit.Open(path)
	l.SetKey(testKey)
	appendN(t, l, 3, "Get") // written after the head was last kept
	l.Close()
	l, b := reopened(t, path, h)
	if b != nil {
		t.Fatalf("CheckHead = %v on an intact log", b)
	}
	if rep := verify(t, l); rep.Broken != nil || rep.Records != 6 {
		t.Errorf("Verify = %+v %v", rep, rep.Broken)
	}
	if _, b := reopened(t, filepath.Join(t.TempDir(), "audit.jsonl"), audit.Head{}); b != nil {
		t.Errorf("CheckHead of no head (the first start) = %v", b)
	}
}

func TestTheKeptHeadIsFollowedAcrossRotatedFiles(t *testing.T) {
	opts := []audit.Option{audit.WithMaxSize(600), audit.WithKeep(3)}
	rotated := func(path string) []string {
		m, _ := filepath.Glob(path + ".*")
		m = slices.DeleteFunc(m, func(s string) bool { return strings.HasSuffix(s, ".lock") })
		// By number: audit.jsonl.10 after audit.jsonl.9.
		slices.SortFunc(m, func(a, b string) int { return cmp.Or(len(a)-len(b), strings.Compare(a, b)) })
		return m
	}
	t.Run("a head in a rotated file still there is checked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		h := written(t, path, 12, opts...)
		l, _ := audit.Open(path, opts...)
		l.SetKey(testKey)
		appendN(t, l, 6, "Get") // rotates the head's file
		l.Close()
		held := fmt.Sprintf("%s.%d", path, h.Gen)
		if _, err := os.Stat(held); err != nil {
			t.Fatalf("the head's file was not rotated: %v", err)
		}
		l, b := reopened(t, path, h, opts...)
		if b != nil {
			t.Fatalf("CheckHead = %v", b)
		}
		l.Close()
		writeLines(t, held, lines(t, held)[:h.Line-1])
		if _, b := reopened(t, path, h, opts...); b == nil || b.File != held || b.Line != h.Line {
			t.Fatalf("CheckHead of a cut rotated file = %v, want %s line %d", b, held, h.Line)
		}
	})
	t.Run("a head whose file was rotated away is not held against the log", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		h := written(t, path, 4, opts...)
		l, _ := audit.Open(path, opts...)
		l.SetKey(testKey)
		appendN(t, l, 40, "Get")
		l.Close()
		if _, err := os.Stat(path + ".1"); err == nil {
			t.Fatal("the first file was not rotated away; make the test write more")
		}
		if _, b := reopened(t, path, h, opts...); b != nil {
			t.Fatalf("CheckHead = %v", b)
		}
	})
	t.Run("the current file removed is a cut", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		h := written(t, path, 12, opts...)
		os.Remove(path)
		if _, b := reopened(t, path, h, opts...); b == nil || b.File != path || b.Line != 1 {
			t.Fatalf("CheckHead = %v, want %s line 1", b, path)
		}
	})
	t.Run("the newest files removed are a cut", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		h := written(t, path, 12, opts...)
		rs := rotated(path)
		os.Remove(path)
		os.Remove(rs[len(rs)-1])
		_, b := reopened(t, path, h, opts...)
		if b == nil || b.File != path || b.Line != 1 || !strings.Contains(b.Reason, "whole files") {
			t.Fatalf("CheckHead = %v, want whole files missing", b)
		}
	})
}

func TestAHeadRoundTripsAndBadOnesAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	h := written(t, path, 2)
	h.Cut = &audit.Break{File: path, Line: 3, Reason: "cut"}
	got, err := audit.ParseHead(h.Marshal())
	if err != nil || got.Gen != h.Gen || got.Line != h.Line || got.MAC != h.MAC || got.Cut == nil || *got.Cut != *h.Cut {
		t.Fatalf("ParseHead(Marshal(%+v)) = %+v, %v", h, got, err)
	}
	for _, bad := range []string{"", "{", `{"gen":1,"line":1,"mac":"zz"}`, `{"gen":0,"line":1,"mac":"` + strings.Repeat("a", 64) + `"}`} {
		if _, err := audit.ParseHead([]byte(bad)); err == nil {
			t.Errorf("ParseHead(%q) accepted it", bad)
		}
	}
	t.Run("a cut found before is carried on and reported", func(t *testing.T) {
		l, b := reopened(t, path, h)
		if b == nil || *b != *h.Cut {
			t.Fatalf("CheckHead = %v, want the carried cut", b)
		}
		if rep := verify(t, l); rep.Broken == nil || *rep.Broken != *h.Cut {
			t.Errorf("Verify = %v", rep.Broken)
		}
	})
}
