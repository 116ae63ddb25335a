package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAClientReadsTheServersSixtyFourBytes(t *testing.T) {
	dir, err := os.MkdirTemp("", "floor")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "floor.sock")
	go func() { _ = listen(socket) }()
	var out bytes.Buffer
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.Reset()
		err = fetch(socket, &out)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != size || out.String()[:3] != "abc" {
		t.Errorf("fetched %d bytes %q, want the %d-byte payload", out.Len(), out.String(), size)
	}
}
