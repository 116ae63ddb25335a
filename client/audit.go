package client

import (
	"context"
	"errors"
	"io"

	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// AuditOptions select the records Audit streams.
type AuditOptions struct {
	// Follow keeps the stream open for new records until ctx ends.
	Follow bool
	// NamePrefix keeps records touching a secret at or below it.
	NamePrefix string
	// Agent keeps records whose caller was this agent.
	Agent string
	// Limit is how many recent records come first (0: the daemon's default).
	Limit int
}

// Audit calls fn with each record, oldest first, until the daemon ends the
// stream or, when following, ctx ends (then it returns ctx's error). An
// error from fn ends the stream and is returned.
func (c *Client) Audit(ctx context.Context, opts AuditOptions, fn func(*hushv1.AuditRecord) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.admin.Audit(ctx, &hushv1.AuditRequest{
		Follow:     opts.Follow,
		NamePrefix: opts.NamePrefix,
		Agent:      opts.Agent,
		Limit:      int32(min(max(opts.Limit, 0), 1<<30)),
	})
	if err != nil {
		return fromStatus(err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fromStatus(err)
		}
		if err := fn(resp.GetRecord()); err != nil {
			return err
		}
	}
}

// VerifyAudit asks the daemon to check the audit log's chain with its key.
func (c *Client) VerifyAudit(ctx context.Context) (*hushv1.VerifyAuditResponse, error) {
	resp, err := c.admin.VerifyAudit(ctx, &hushv1.VerifyAuditRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	return resp, nil
}
