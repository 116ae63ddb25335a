package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hush-dev/hush/client"
	"github.com/hush-dev/hush/internal/audit"
	"github.com/hush-dev/hush/internal/termtext"
	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

func (a *app) auditCommand() *cobra.Command {
	var opts client.AuditOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--follow] [--name PREFIX] [--agent NAME] [--json]",
		Short: "Show who got which secret, when, and why (names, never values)",
		Long: `Show the daemon's audit log: one record for every access and change, with
the caller's process chain, the verdict and the signal that decided it, the
policy rule, the approval and the result. Records name secrets, never values.

A table for people; --json prints one JSON object per line, as stored in the
log. --follow keeps printing new records until interrupted.

'hush audit verify' checks the log's HMAC chain and names the first record
that was changed, inserted or removed.`,
		Args: exactArgs(0, "no arguments (or the subcommand verify)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dialConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			show := a.auditTable()
			if asJSON {
				show = a.auditJSON()
			}
			err = c.Audit(cmd.Context(), opts, show)
			if opts.Follow && errors.Is(err, context.Canceled) {
				// Interrupting is how following ends; nothing to report.
				return &exitError{code: 130, quiet: true}
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new records as they are written")
	cmd.Flags().StringVar(&opts.NamePrefix, "name", "", "only records touching a secret at or below `PREFIX`")
	cmd.Flags().StringVar(&opts.Agent, "agent", "", "only records whose caller was the agent `NAME` (e.g. claude)")
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 0, "how many recent records to show first (default 100)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, for tools")
	cmd.AddCommand(a.auditVerifyCommand())
	return cmd
}

func (a *app) auditVerifyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's HMAC chain and report the first broken record",
		Long: `Check every record's HMAC, chained over the record before it and keyed by a
key the daemon keeps in the vault (so the vault must have been unlocked since
the daemon started). Exits 0 when the chain holds; otherwise names the file
and line of the first record that was changed, inserted or removed.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dialConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			rep, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if !rep.GetOk() {
				where := rep.GetBrokenFile()
				if rep.GetBrokenLine() > 0 {
					where = fmt.Sprintf("%s line %d", where, rep.GetBrokenLine())
				}
				return fmt.Errorf("audit log broken at %s: %s", where, rep.GetReason())
			}
			files := rep.GetFiles()
			fmt.Fprintf(a.stdout, "audit log intact: %d records in %d %s\n", rep.GetRecords(), len(files), plural(len(files), "file", "files"))
			if n := rep.GetUnsealed(); n > 0 {
				fmt.Fprintf(a.stdout, "  %d %s at the end not sealed yet (written before the vault was unlocked); the next record seals them\n", n, plural(int(n), "record", "records"))
			}
			if an := rep.GetAnchor(); an != "" {
				fmt.Fprintf(a.stdout, "  the chain starts at %s: older files were rotated away, and its link to them is taken on trust\n", an)
			}
			return nil
		},
	}
}

// dialConfigured reads the settings and dials the daemon they name.
func (a *app) dialConfigured(ctx context.Context) (*client.Client, error) {
	s, err := loadSettings()
	if err != nil {
		return nil, err
	}
	return a.dial(ctx, s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// auditTable prints records as fixed-width rows, so rows printed one by one
// while following line up with the first ones.
func (a *app) auditTable() func(*hushv1.AuditRecord) error {
	const row = "%-19s  %-9s  %7s  %-16s  %-32s  %s\n"
	header := false
	return func(r *hushv1.AuditRecord) error {
		if !header {
			header = true
			if _, err := fmt.Fprintf(a.stdout, row, "TIME", "OP", "PID", "CALLER", "NAMES", "RESULT"); err != nil {
				return err
			}
		}
		when := r.GetTime()
		if t, err := time.Parse(time.RFC3339Nano, when); err == nil {
			when = t.Local().Format(time.DateTime)
		}
		caller := verdictName(r.GetVerdict())
		if r.GetAgent() != "" {
			caller += " " + r.GetAgent()
		}
		result := r.GetResult()
		if ap := r.GetApproval(); ap != "" {
			result += " (" + ap + ")"
		}
		_, err := fmt.Fprintf(a.stdout, row, termtext.Escape(when), termtext.Escape(r.GetOperation()), fmt.Sprint(r.GetPid()),
			termtext.Escape(caller), termtext.Escape(namesColumn(r)), termtext.Escape(result))
		return err
	}
}

// namesColumn shortens a long list: a prefix load can name dozens.
func namesColumn(r *hushv1.AuditRecord) string {
	names := r.GetNames()
	switch {
	case len(names) > 3:
		return strings.Join(names[:2], ",") + fmt.Sprintf(",… (%d in all)", len(names))
	case len(names) > 0:
		return strings.Join(names, ",")
	case r.GetPrefix() != "":
		return strings.TrimSuffix(r.GetPrefix(), "/") + "/"
	case r.GetOperation() == "List" || r.GetOperation() == "GetPrefix":
		return "(all)"
	}
	return "-"
}

// printable keeps a process name or message from driving the terminal.
func verdictName(v hushv1.Verdict) string {
	switch v {
	case hushv1.Verdict_VERDICT_PERSON:
		return "person"
	case hushv1.Verdict_VERDICT_AGENT:
		return "agent"
	}
	return "unknown"
}

// auditJSON prints each record as the log stores it, one per line.
func (a *app) auditJSON() func(*hushv1.AuditRecord) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	return func(r *hushv1.AuditRecord) error {
		t, _ := time.Parse(time.RFC3339Nano, r.GetTime())
		return enc.Encode(audit.Record{
			Time:      t.UTC(),
			Operation: r.GetOperation(),
			Names:     r.GetNames(),
			Prefix:    r.GetPrefix(),
			PID:       int(r.GetPid()),
			Chain:     r.GetChain(),
			Verdict:   verdictName(r.GetVerdict()),
			Agent:     r.GetAgent(),
			Signal:    r.GetSignal(),
			Rule:      r.GetRule(),
			Approval:  r.GetApproval(),
			Result:    r.GetResult(),
			MAC:       r.GetMac(),
		})
	}
}
