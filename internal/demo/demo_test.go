package demo_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/hush-dev/hush/internal/demo"
)

// The narrated demo itself runs in e2e/ (TestDemoRunsClean), which has the
// hush binary and node at hand. The source line it looks for is parsed by
// handoff.ParseSourceLine, tested there.

func TestFindAgentDirFindsE2EFromAnywhereInTheRepository(t *testing.T) {
	repo := t.TempDir()
	e2e := filepath.Join(repo, "e2e")
	deep := filepath.Join(repo, "internal", "demo")
	for _, d := range []string{e2e, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e2e, "package.json"), []byte(`{"name":"hush-e2e"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{repo, e2e, deep} {
		t.Run(start, func(t *testing.T) {
			if got, err := demo.FindAgentDir(start); err != nil || got != e2e {
				t.Errorf("FindAgentDir(%q) = %q, %v; want %q", start, got, err, e2e)
			}
		})
	}
	t.Run("a tree without the package is an error", func(t *testing.T) {
		if got, err := demo.FindAgentDir(t.TempDir()); err == nil {
			t.Errorf("found %q", got)
		}
	})
}

func TestCheckerAcceptsOnlyTheValue(t *testing.T) {
	c, err := demo.StartChecker([]byte("sk_test_checker"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"the value as a bearer token is accepted", "Bearer sk_test_checker", 200},
		{"another value is refused", "Bearer sk_test_other", 401},
		{"the value without Bearer is refused", "sk_test_checker", 401},
		{"no header is refused", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", c.URL, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
	if c.Accepted() != 1 || c.Refused() != 3 {
		t.Errorf("counted %d accepted and %d refused, want 1 and 3", c.Accepted(), c.Refused())
	}
}
