package client

import (
	"context"

	hushv1 "github.com/hush-dev/hush/proto/hush/v1"
)

// Classify asks the daemon who a process is to it: the chain, the verdict
// and the deciding signal, and, for name (a secret or prefix; "" for every
// secret), the policy rule and what the caller would get. pid 0 is the
// calling process itself.
func (c *Client) Classify(ctx context.Context, pid int, name string) (*hushv1.ClassifyResponse, error) {
	resp, err := c.admin.Classify(ctx, &hushv1.ClassifyRequest{Pid: int32(pid), Name: name})
	if err != nil {
		return nil, fromStatus(err)
	}
	return resp, nil
}
