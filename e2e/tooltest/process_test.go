package tooltest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a child process (see TestMain).
const helperEnv = "TOOLTEST_HELPER"

// TestMain lets the tests start this binary as a stand-in tool:
// TOOLTEST_HELPER=serve listens on its argument's address until SIGTERM;
// =exit prints its argument and exits 3.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		l, err := net.Listen("tcp", os.Args[len(os.Args)-1])
		if err != nil {
			fmt.Println(err) // "... address already in use"
			os.Exit(1)
		}
		fmt.Println("serving on", l.Addr())
		<-term
		fmt.Println("got SIGTERM")
		os.Exit(0)
	case "exit":
		fmt.Println(os.Args[len(os.Args)-1])
		os.Exit(3)
	}
}

func helper(t *testing.T, mode, arg string) Command {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Command{Name: "helper-" + mode, Path: self, Args: []string{"-test.run=^$", arg}, Env: []string{helperEnv + "=" + mode}}
}

func TestProcessReadyStopOutput(t *testing.T) {
	addr := Loopback(FreePorts(t, 1)[0])
	p := Start(t, helper(t, "serve", addr))
	if err := p.WaitReady(10*time.Second, func() error { return dialable(addr) }); err != nil {
		t.Fatal(err)
	}
	if p.Exited() || p.ExitErr() != nil {
		t.Fatal("exited while serving")
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if err := p.Stop(); err != nil { // again: a no-op
		t.Fatal(err)
	}
	if out := p.Output(); !strings.Contains(out, "serving on "+addr) || !strings.Contains(out, "got SIGTERM") {
		t.Errorf("output = %q", out)
	}
	if p.ExitErr() != nil {
		t.Errorf("exit after SIGTERM: %v, want a clean exit", p.ExitErr())
	}
}

func TestWaitReadyReportsExit(t *testing.T) {
	p := Start(t, helper(t, "exit", "fatal: bad config"))
	err := p.WaitReady(10*time.Second, func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "fatal: bad config") {
		t.Fatalf("WaitReady = %v, want the exit and the log tail", err)
	}
	if p.ExitErr() == nil {
		t.Error("ExitErr is nil after exit status 3")
	}
}

func TestWaitReadyStopsOnErrNotReady(t *testing.T) {
	addr := Loopback(FreePorts(t, 1)[0])
	p := Start(t, helper(t, "serve", addr))
	start := time.Now()
	err := p.WaitReady(time.Minute, func() error { return fmt.Errorf("%w: broken", ErrNotReady) })
	if err == nil || !strings.Contains(err.Error(), "broken") || time.Since(start) > 10*time.Second {
		t.Fatalf("WaitReady = %v after %s, want the error at once", err, time.Since(start))
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	addr := Loopback(FreePorts(t, 1)[0])
	p := Start(t, helper(t, "serve", addr))
	err := p.WaitReady(100*time.Millisecond, func() error { return errors.New("still starting") })
	if err == nil || !strings.Contains(err.Error(), "not ready after 100ms: still starting") {
		t.Fatalf("WaitReady = %v", err)
	}
}

// TestStartRetryingOnPortClash: the first attempt is given a port that is
// taken; the retry, with a new port, succeeds.
func TestStartRetryingOnPortClash(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	attempts := 0
	got := startRetrying(t, "helper", func() (string, *Process, error) {
		attempts++
		addr := taken.Addr().String()
		if attempts > 1 {
			addr = Loopback(FreePorts(t, 1)[0])
		}
		p, err := start(t, helper(t, "serve", addr))
		if err != nil {
			return "", nil, err
		}
		return addr, p, p.WaitReady(10*time.Second, func() error {
			if err := p.checkBinds(); err != nil {
				return err
			}
			if !strings.Contains(p.Output(), "serving on") {
				return errors.New("not serving yet")
			}
			return nil
		})
	})
	if attempts != 2 || got == taken.Addr().String() {
		t.Fatalf("%d attempts, serving on %s; want 2 attempts and a new port", attempts, got)
	}
}
