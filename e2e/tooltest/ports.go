package tooltest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FreePorts returns n distinct free TCP ports on 127.0.0.1. Every listener is
// held until all ports are chosen, then closed, so a process given the ports
// can bind them (unless someone else takes one first: the Start* functions
// retry with new ports when that happens). The ports are picked at random
// below the kernel's ephemeral range (ip_local_port_range) when it can be
// read: the kernel hands ports of that range to every listener on port 0 and
// every outgoing connection of the machine, which would otherwise take a
// chosen port before its process binds it.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := freePorts(n)
	if err != nil {
		t.Fatalf("tooltest: %v", err)
	}
	return ports
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	low, high := belowEphemeral()
	for range n {
		l, err := listenFree(low, high)
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// belowEphemeral returns the range to pick ports from: [10000, the first
// ephemeral port), or 0, 0 (let the kernel pick) when that cannot be read or
// leaves too few ports.
func belowEphemeral() (low, high int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0
	}
	first, err := strconv.Atoi(f[0])
	if err != nil || first < 12000 {
		return 0, 0
	}
	return 10000, first
}

// listenFree listens on a free port of [low, high), tried at random, or on
// port 0 when high is 0 or no port tried is free.
func listenFree(low, high int) (net.Listener, error) {
	if high > low {
		for range 64 {
			l, err := net.Listen("tcp", Loopback(low+rand.IntN(high-low)))
			if err == nil {
				return l, nil
			}
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Loopback returns "127.0.0.1:port".
func Loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// httpGet GETs url and returns the body of a 200 answer (at most 16 MiB), or
// an error naming the status.
func httpGet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: status %d: %.500s", url, resp.StatusCode, body)
	}
	return body, nil
}

// dialable reports whether something accepts TCP connections on addr.
func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
