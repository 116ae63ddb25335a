package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/internal/secret"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

func (a *app) whoamiCommand() *cobra.Command {
	var pid int
	cmd := &cobra.Command{
		Use:   "whoami [NAME]",
		Short: "Show who the daemon takes you for, why, and what the policy gives you",
		Long: `Show how the daemon classifies this command's process (or --pid PID): the
process chain it read, the verdict (person, agent or unknown) and the signal
that decided it, and the policy rule that applies to NAME (a secret or a
prefix; without NAME, to every secret) with what a request would get:
plaintext, handoff, confirm or deny.

Agents may run it too: it reads no secret value.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("whoami takes at most one NAME (see 'hush whoami --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if pid < 0 || pid > math.MaxInt32 {
				return usagef("--pid %d is not a process ID", pid)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
				if err := secret.ValidatePrefix(name); err != nil {
					return err
				}
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context(), s)
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.Classify(cmd.Context(), pid, name)
			if err != nil {
				return err
			}
			a.printWhoami(resp, name)
			return nil
		},
	}
	cmd.Flags().IntVar(&pid, "pid", 0, "classify the process `PID` (yours) instead of this command")
	return cmd
}

// printWhoami shows what the daemon saw. Process names, and the signal
// and agent taken from them, are whatever the processes chose, so they are
// escaped rather than sent to the terminal as they are.
func (a *app) printWhoami(resp *hushv1.ClassifyResponse, name string) {
	c := resp.GetCaller()
	verdict := verdictName(c.GetVerdict())
	if c.GetAgent() != "" {
		verdict += " (" + termtext.Escape(c.GetAgent()) + ")"
	}
	target := "every secret"
	if name != "" {
		target = strconv.Quote(name)
	}
	fmt.Fprintf(a.stdout, "verdict:  %s\n", verdict)
	fmt.Fprintf(a.stdout, "signal:   %s\n", termtext.Escape(c.GetSignal()))
	fmt.Fprintf(a.stdout, "process:  pid %d, uid %d\n", c.GetPid(), c.GetUid())
	fmt.Fprintf(a.stdout, "policy:   %s for %s: rule %s\n", resp.GetOutcome(), target, termtext.Escape(resp.GetRule()))
	fmt.Fprintln(a.stdout, "chain:")
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PID\tCOMM\tARGV")
	for _, p := range c.GetChain() {
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", p.GetPid(), termtext.Escape(p.GetComm()), argvLine(p.GetArgv()))
	}
	tw.Flush()
}

// maxArgvShown bounds one process's argv on screen; node agents carry
// long ones.
const maxArgvShown = 160

// argvLine shows argv on one line: arguments with spaces or unprintable
// characters quoted, the whole cut to maxArgvShown.
func argvLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, arg := range argv {
		if arg == "" || strings.IndexFunc(arg, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
			arg = strconv.Quote(arg)
		}
		parts[i] = arg
	}
	line := strings.Join(parts, " ")
	if len(line) > maxArgvShown {
		cut := maxArgvShown
		for cut > 0 && !isRuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	return line
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
