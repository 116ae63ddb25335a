package demo

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Checker is the local HTTP endpoint the agent's command calls: it answers
// 200 to `Authorization: Bearer <value>` and 401 to anything else, so a 200
// proves the value reached the command's process.
type Checker struct {
	URL string

	srv      *http.Server
	done     chan struct{}
	accepted atomic.Int32
	refused  atomic.Int32
}

// StartChecker listens on a free loopback port for the value want.
func StartChecker(want []byte) (*Checker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &Checker{URL: "http://" + ln.Addr().String() + "/check", done: make(chan struct{})}
	bearer := append([]byte("Bearer "), want...)
	c.srv = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), bearer) == 1 {
				c.accepted.Add(1)
				w.Write([]byte("ok\n"))
				return
			}
			c.refused.Add(1)
			http.Error(w, "wrong or missing bearer token", http.StatusUnauthorized)
		}),
	}
	go func() {
		defer close(c.done)
		c.srv.Serve(ln)
	}()
	return c, nil
}

// Accepted counts requests that carried the value.
func (c *Checker) Accepted() int { return int(c.accepted.Load()) }

// Refused counts requests that did not.
func (c *Checker) Refused() int { return int(c.refused.Load()) }

// Close stops the endpoint.
func (c *Checker) Close() error {
	err := c.srv.Close()
	<-c.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
