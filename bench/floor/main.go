// Command floor is the baseline bench/compare.sh measures hush against: the
// least a Go program can do to fetch a secret from a local daemon. It
// connects to a Unix socket, reads 64 bytes and prints them. With -serve it
// is that daemon: it answers every connection with the same 64 bytes.
//
//	floor -serve /tmp/floor.sock &
//	floor /tmp/floor.sock
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// size is what a client reads: about one API key.
const size = 64

func main() {
	serve := flag.Bool("serve", false, "answer on the socket instead of reading from it")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: floor [-serve] SOCKET")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if *serve {
		err = listen(flag.Arg(0))
	} else {
		err = fetch(flag.Arg(0), os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func fetch(socket string, out io.Writer) error {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, size)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("read %d bytes: %w", size, err)
	}
	_, err = out.Write(buf)
	return err
}

func listen(socket string) error {
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		l.Close() // also removes the socket file
	}()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			_, _ = c.Write(payload)
		}()
	}
}
