package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/hush-dev/hush/server"
)

func TestHardenHidesTheDaemonsMemoryAndFiles(t *testing.T) {
	if os.Getenv("HUSH_TEST_HARDEN") == "1" {
		if err := server.Harden(); err != nil {
			fmt.Println("harden:", err)
			os.Exit(1)
		}
		dumpable, _, _ := syscall.Syscall(syscall.SYS_PRCTL, syscall.PR_GET_DUMPABLE, 0, 0)
		mask := syscall.Umask(0)
		fmt.Printf("dumpable=%d umask=%03o\n", dumpable, mask)
		os.Exit(0)
	}
	// Harden changes the whole process: run it in a child.
	cmd := exec.Command(testBinary(t), "-test.run=^TestHardenHidesTheDaemonsMemoryAndFiles$")
	cmd.Env = []string{"HUSH_TEST_HARDEN=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dumpable=0 umask=077") {
		t.Errorf("after Harden: %s", out)
	}
}
