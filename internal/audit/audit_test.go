package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hush-dev/hush/internal/audit"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

func openLog(t *testing.T, path string, opts ...audit.Option) *audit.Log {
	t.Helper()
	l, err := audit.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func appendN(t *testing.T, l *audit.Log, n int, op string) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(audit.Record{Operation: op, Names: []string{fmt.Sprintf("org/api/KEY_%d", i)}, PID: 100 + i, Verdict: "agent", Agent: "claude", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, l *audit.Log) audit.Report {
	t.Helper()
	rep, err := l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(data), "\n")[:strings.Count(string(data), "\n")]
}

func writeLines(t *testing.T, path string, ls []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(ls, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAnIntactLogVerifies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path)
	if err := l.SetKey(testKey); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 5, "Get")
	rep := verify(t, l)
	if rep.Broken != nil || rep.Records != 5 || rep.Unsealed != 0 || rep.Anchor != "" {
		t.Fatalf("report = %+v, broken %v", rep, rep.Broken)
	}
	for i, line := range lines(t, path) {
		if !strings.Contains(line, `"mac":"`) {
			t.Errorf("line %d is not sealed: %s", i+1, line)
		}
		if !strings.Contains(line, `"verdict":"agent"`) || !strings.Contains(line, `"names":["org/api/KEY_`) {
			t.Errorf("line %d lacks the caller or the names: %s", i+1, line)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the log's mode is %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// Every way of changing a closed log's past is reported at the first
// record whose MAC can no longer hold.
func TestVerifyReportsTheFirstTamperedRecord(t *testing.T) {
	tests := []struct {
		name   string
		tamper func([]string) []string
		line   int
	}{
		{"a changed name is caught at its own line", func(ls []string) []string {
			ls[2] = strings.Replace(ls[2], "KEY_2", "KEY_X", 1)
			return ls
		}, 3},
		{"a changed verdict is caught at its own line", func(ls []string) []string {
			ls[1] = strings.Replace(ls[1], `"verdict":"agent"`, `"verdict":"person"`, 1)
			return ls
		}, 2},
		{"added whitespace is caught", func(ls []string) []string {
			ls[3] = strings.Replace(ls[3], `,"pid"`, `, "pid"`, 1)
			return ls
		}, 4},
		{"a deleted record is caught at the next one", func(ls []string) []string {
			return slices.Delete(ls, 2, 3)
		}, 3},
		{"a duplicated record is caught at the copy", func(ls []string) []string {
			return slices.Insert(ls, 2, ls[1])
		}, 3},
		{"swapped records are caught at the first of them", func(ls []string) []string {
			ls[1], ls[2] = ls[2], ls[1]
			return ls
		}, 2},
		{"a stripped MAC is caught at the next sealed record", func(ls []string) []string {
			i := strings.Index(ls[1], `,"mac":"`)
			ls[1] = ls[1][:i] + "}\n"
			return ls
		}, 3},
		{"a line that is not a record is caught", func(ls []string) []string {
			return slices.Insert(ls, 4, "not json\n")
		}, 5},
		{"an empty line is caught", func(ls []string) []string {
			return slices.Insert(ls, 1, "\n")
		}, 2},
		{"a MAC moved before another field is caught", func(ls []string) []string {
			ls[0] = strings.Replace(ls[0], `{"time"`, `{"mac":"00","time"`, 1)
			return ls
		}, 1},
		{"a record claiming an earlier file on the first line is caught", func(ls []string) []string {
			ls[0] = strings.Replace(ls[0], `{"time"`, `{"prev":"`+strings.Repeat("ab", 32)+`","time"`, 1)
			return ls
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			l, err := audit.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			l.SetKey(testKey)
			appendN(t, l, 6, "Get")
			l.Close()
			writeLines(t, path, tt.tamper(lines(t, path)))

			l = openLog(t, path)
			l.SetKey(testKey)
			rep := verify(t, l)
			if rep.Broken == nil {
				t.Fatalf("tampering went unnoticed: %+v", rep)
			}
			if rep.Broken.File != path || rep.Broken.Line != tt.line {
				t.Errorf("broken at %s line %d (%s), want line %d", rep.Broken.File, rep.Broken.Line, rep.Broken.Reason, tt.line)
			}
		})
	}
}

func TestATruncatedEndIsCaughtWhileTheWriterRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path)
	l.SetKey(testKey)
	appendN(t, l, 4, "Set")
	ls := lines(t, path)
	writeLines(t, path, ls[:3])
	rep := verify(t, l)
	if rep.Broken == nil || rep.Broken.Line != 4 || !strings.Contains(rep.Broken.Reason, "removed from its end") {
		t.Fatalf("truncation went unnoticed: %+v %v", rep, rep.Broken)
	}
}

func TestAWrongKeyFailsTheFirstSealedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _ := audit.Open(path)
	l.SetKey(testKey)
	appendN(t, l, 2, "Get")
	l.Close()

	l = openLog(t, path)
	other := bytes.Repeat([]byte{7}, 32)
	if err := l.SetKey(other); !errors.Is(err, audit.ErrKeyMismatch) {
		t.Errorf("SetKey with another key = %v, want ErrKeyMismatch", err)
	}
	rep := verify(t, l)
	if rep.Broken == nil || rep.Broken.Line != 1 {
		t.Errorf("report %+v, want a break at line 1", rep.Broken)
	}
}

// Records written before the key is known are unsealed, and the first
// sealed record after them covers them.
func TestRecordsWithoutAKeyAreSealedByTheNextOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path)
	if _, err := l.Verify(); !errors.Is(err, audit.ErrNoKey) {
		t.Fatalf("Verify without a key = %v, want ErrNoKey", err)
	}
	appendN(t, l, 3, "Get")
	for _, line := range lines(t, path) {
		if strings.Contains(line, `"mac"`) {
			t.Fatalf("a record was sealed without a key: %s", line)
		}
	}
	l.SetKey(testKey)
	rep := verify(t, l)
	if rep.Broken != nil || rep.Unsealed != 3 {
		t.Fatalf("before the next record: %+v %v, want 3 unsealed and intact", rep, rep.Broken)
	}
	appendN(t, l, 1, "Unlock")
	if rep = verify(t, l); rep.Broken != nil || rep.Unsealed != 0 || rep.Records != 4 {
		t.Fatalf("after sealing: %+v %v", rep, rep.Broken)
	}

	t.Run("an edited unsealed record breaks the record that sealed it", func(t *testing.T) {
		l.Close()
		ls := lines(t, path)
		ls[1] = strings.Replace(ls[1], "KEY_1", "KEY_9", 1)
		writeLines(t, path, ls)
		l := openLog(t, path)
		l.SetKey(testKey)
		if rep := verify(t, l); rep.Broken == nil || rep.Broken.Line != 4 {
			t.Errorf("report %+v, want a break at line 4", rep.Broken)
		}
	})
}

func TestTheChainContinuesAfterReopening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _ := audit.Open(path)
	appendN(t, l, 2, "Get") // unsealed: no key in this run
	l.Close()
	l, _ = audit.Open(path)
	l.SetKey(testKey)
	appendN(t, l, 2, "Get")
	l.Close()
	l = openLog(t, path)
	l.SetKey(testKey)
	appendN(t, l, 1, "Lock")
	if rep := verify(t, l); rep.Broken != nil || rep.Records != 5 || rep.Unsealed != 0 {
		t.Fatalf("report %+v %v", rep, rep.Broken)
	}
}

func TestALineCutShortByACrashIsReportedAndTheLogGoesOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _ := audit.Open(path)
	l.SetKey(testKey)
	appendN(t, l, 2, "Get")
	l.Close()
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-01-01T00:00:00Z","op":"Ge`)
	f.Close()

	l = openLog(t, path)
	l.SetKey(testKey)
	appendN(t, l, 1, "Get")
	ls := lines(t, path)
	if len(ls) != 4 || !strings.HasPrefix(ls[3], `{"time"`) {
		t.Fatalf("the record after the cut line does not start its own line: %q", ls)
	}
	if rep := verify(t, l); rep.Broken == nil || rep.Broken.Line != 3 {
		t.Errorf("report %+v, want the cut line 3", rep.Broken)
	}
}

func TestRotationCarriesTheChainAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l := openLog(t, path, audit.WithMaxSize(600), audit.WithKeep(3))
	l.SetKey(testKey)
	appendN(t, l, 30, "Get")

	rotated, _ := filepath.Glob(path + ".*")
	rotated = slices.DeleteFunc(rotated, func(s string) bool { return strings.HasSuffix(s, ".lock") })
	if len(rotated) != 3 {
		t.Fatalf("rotated files %v, want the newest 3", rotated)
	}
	rep := verify(t, l)
	if rep.Broken != nil {
		t.Fatalf("broken: %v", rep.Broken)
	}
	if rep.Anchor == "" || rep.Anchor != rep.Files[0] || len(rep.Files) != 4 {
		t.Errorf("report %+v: want 4 files anchored at the oldest kept", rep)
	}
	for _, name := range rep.Files[1:] {
		first := lines(t, name)
		if len(first) > 0 && !strings.Contains(first[0], `"prev":"`) {
			t.Errorf("%s does not say where it continues from: %s", name, first[0])
		}
	}

	t.Run("a missing middle file is reported", func(t *testing.T) {
		moved := rep.Files[1] + ".moved"
		os.Rename(rep.Files[1], moved)
		defer os.Rename(moved, rep.Files[1])
		r := verify(t, l)
		if r.Broken == nil || r.Broken.File != rep.Files[1] || r.Broken.Line != 0 {
			t.Errorf("report %+v, want %s missing", r.Broken, rep.Files[1])
		}
	})
	t.Run("a file that does not continue the one before is reported", func(t *testing.T) {
		name := rep.Files[2]
		orig := lines(t, name)
		ls := slices.Clone(orig)
		ls[0] = strings.Replace(ls[0], `"prev":"`, `"prev":"0`, 1)
		writeLines(t, name, ls)
		defer writeLines(t, name, orig)
		r := verify(t, l)
		if r.Broken == nil || r.Broken.File != name || r.Broken.Line != 1 {
			t.Errorf("report %+v, want %s line 1", r.Broken, name)
		}
	})
}

func TestRecentFiltersAndLimitsAcrossFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, audit.WithMaxSize(500))
	l.SetKey(testKey)
	for i := range 20 {
		agent := "claude"
		if i%2 == 1 {
			agent = "codex"
		}
		l.Append(audit.Record{Operation: "Get", Names: []string{fmt.Sprintf("n/%02d", i)}, Verdict: "agent", Agent: agent, Result: "ok"})
	}
	got, err := l.Recent(l.Position(), 4, func(r audit.Record) bool { return r.Agent == "codex" })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Names[0])
	}
	if want := []string{"n/13", "n/15", "n/17", "n/19"}; !slices.Equal(names, want) {
		t.Errorf("Recent = %v, want %v (oldest first, the newest four)", names, want)
	}
	all, _ := l.Recent(l.Position(), 100, nil)
	if len(all) != 20 {
		t.Errorf("Recent(100) has %d records, want 20", len(all))
	}
}

func TestFollowersMissNothingBetweenRecentAndNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, audit.WithMaxSize(400))
	l.SetKey(testKey)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			l.Append(audit.Record{Operation: "Get", Names: []string{fmt.Sprint(i)}, Result: "ok"})
		}
	})
	time.Sleep(time.Millisecond)
	sub, err := l.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	before, err := l.Recent(sub.Pos, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	sub.Close()
	seen := map[string]int{}
	for _, r := range before {
		seen[r.Names[0]]++
	}
	for r := range sub.C {
		seen[r.Names[0]]++
	}
	for i := range 200 {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("record %d seen %d times (before: %d records)", i, seen[fmt.Sprint(i)], len(before))
		}
	}
}

func TestASlowFollowerIsCutOffNotWaitedFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path)
	sub, _ := l.Subscribe()
	appendN(t, l, 2000, "Get")
	n := 0
	for range sub.C {
		n++
	}
	if !errors.Is(sub.Err(), audit.ErrBehind) || n >= 2000 {
		t.Errorf("after %d records Err = %v, want ErrBehind", n, sub.Err())
	}
}

func TestASecondWriterIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	openLog(t, path)
	if _, err := audit.Open(path); !errors.Is(err, audit.ErrBusy) {
		t.Errorf("second Open = %v, want ErrBusy", err)
	}
}

func TestClosingEndsFollowersAndRefusesRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _ := audit.Open(path)
	sub, _ := l.Subscribe()
	l.Close()
	if _, ok := <-sub.C; ok || !errors.Is(sub.Err(), audit.ErrClosed) {
		t.Errorf("follower after Close: err %v", sub.Err())
	}
	if _, err := l.Append(audit.Record{Operation: "Get"}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Append after Close = %v", err)
	}
}

func BenchmarkAppendSealed(b *testing.B) {
	l, err := audit.Open(filepath.Join(b.TempDir(), "audit.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.SetKey(testKey)
	r := audit.Record{Operation: "GetPrefix", Names: []string{"org/api/STRIPE_KEY", "org/api/GITHUB_TOKEN"}, PID: 4242,
		Chain: "hush<bash<claude<zsh", Verdict: "agent", Agent: "claude", Signal: "argv:claude (pid 4000)", Result: "ok"}
	for b.Loop() {
		if _, err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

// Whatever is in the file, opening, reading, verifying and appending never
// panic, and a verified report names a line that exists.
func FuzzAnyFileContents(f *testing.F) {
	f.Add([]byte(`{"time":"2026-01-01T00:00:00Z","op":"Get","pid":1,"verdict":"agent","result":"ok"}` + "\n"))
	f.Add([]byte(`{"op":"Get","mac":"` + strings.Repeat("0", 64) + `"}` + "\n{}\n"))
	f.Add([]byte("\n\n{\"prev\":\"x\"}"))
	f.Add([]byte(`{"mac":""}`))
	f.Add([]byte{0xff, '{', '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := audit.Open(path)
		if err != nil {
			return // e.g. a line over the size limit
		}
		defer l.Close()
		l.Recent(l.Position(), 10, nil)
		l.SetKey(testKey)
		if _, err := l.Append(audit.Record{Operation: "Get", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		rep, err := l.Verify()
		if err != nil {
			t.Fatal(err)
		}
		if b := rep.Broken; b != nil && (b.Line < 1 || b.Line > strings.Count(string(data), "\n")+2) {
			t.Errorf("break at line %d of a %d-line file", b.Line, strings.Count(string(data), "\n")+1)
		}
	})
}
