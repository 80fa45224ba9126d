package tooltest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
const StopTimeout = 10 * time.Second

// Process is a program started by Start, with its stdout and stderr in one
// log file. Its methods are safe for concurrent use.
type Process struct {
	// Name labels the process in messages ("prometheus", "otelcol", ...).
	Name string
	// PID is the process id.
	PID int
	// LogPath holds the process's stdout and stderr.
	LogPath string

	cmd      *exec.Cmd
	done     chan struct{} // closed once the process has exited and been waited for
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// Command describes a process for Start.
type Command struct {
	// Name labels the process; it also names the log file (<Name>.log).
	Name string
	// Path is the binary.
	Path string
	// Args are the arguments, without the program name.
	Args []string
	// Env is added to the test process's environment.
	Env []string
	// Dir is the working directory; default a new temporary directory.
	Dir string
}

// Start starts the command with its output in a log file and registers a
// cleanup that stops it (Stop) and, if the test failed, prints the tail of
// its log. It does not wait for readiness: poll for that with WaitReady.
func Start(t testing.TB, c Command) *Process {
	t.Helper()
	p, err := start(t, c)
	if err != nil {
		t.Fatalf("tooltest: %v", err)
	}
	return p
}

func start(t testing.TB, c Command) (*Process, error) {
	dir := c.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	logPath := filepath.Join(dir, c.Name+".log")
	for i := 2; isFile(logPath); i++ { // a retry after a port clash keeps the earlier log
		logPath = filepath.Join(dir, fmt.Sprintf("%s-%d.log", c.Name, i))
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", c.Name, c.Path, err)
	}
	p := &Process{Name: c.Name, PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("tooltest: %v", err)
		}
		if t.Failed() {
			t.Logf("--- %s output (%s) ---\n%s", p.Name, p.LogPath, tail(p.Output(), 16000))
		}
	})
	return p, nil
}

// Stop stops the process by its pid: SIGTERM, then SIGKILL if it has not
// exited within StopTimeout. It waits for the exit, and is safe to call more
// than once. An error says the process had to be killed or would not die; a
// process that had already exited is not an error here (see Exited).
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		if p.Exited() {
			return
		}
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(StopTimeout):
		}
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
		select {
		case <-p.done:
			p.stopErr = fmt.Errorf("%s pid %d ignored SIGTERM for %s; killed", p.Name, p.PID, StopTimeout)
		case <-time.After(10 * time.Second):
			p.stopErr = fmt.Errorf("%s pid %d did not exit after SIGKILL", p.Name, p.PID)
		}
	})
	return p.stopErr
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr is the process's exit status as exec.Cmd.Wait reported it; nil
// while it runs or after a clean exit.
func (p *Process) ExitErr() error {
	if !p.Exited() {
		return nil
	}
	return p.waitErr
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.LogPath, err)
	}
	return string(b)
}

// ErrNotReady wrapped in the error of a WaitReady condition stops the wait
// at once: the process will never be ready (it logged a fatal error).
var ErrNotReady = errors.New("will not be ready")

// WaitReady polls ready until it returns nil, the process exits, ready's
// error wraps ErrNotReady, or timeout passes; the error then carries ready's
// last error and the tail of the log.
func (p *Process) WaitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was ready (%v)\n--- %s output (%s) ---\n%s",
				p.Name, p.waitErr, p.Name, p.LogPath, tail(p.Output(), 8000))
		}
		err := ready()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrNotReady) {
			return fmt.Errorf("%s: %v\n--- %s output (%s) ---\n%s", p.Name, err, p.Name, p.LogPath, tail(p.Output(), 8000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v\n--- %s output (%s) ---\n%s",
				p.Name, timeout, err, p.Name, p.LogPath, tail(p.Output(), 8000))
		}
		select {
		case <-p.done:
		case <-time.After(delay):
		}
	}
}

// addrInUse is how Go programs (and so every tool here) report a port taken.
const addrInUse = "address already in use"

// portClash reports whether a start failed because a port it was given was
// taken by someone else between FreePorts and the bind.
func (p *Process) portClash(err error) bool {
	return err != nil && strings.Contains(p.Output(), addrInUse)
}

// checkBinds is a readiness condition that fails at once when the process
// logged that a port was taken, for programs that log it and run on (HotROD
// starts its services in goroutines).
func (p *Process) checkBinds() error {
	if strings.Contains(p.Output(), addrInUse) {
		return fmt.Errorf("%w: a port it was given is taken", ErrNotReady)
	}
	return nil
}

// startRetrying calls try (which starts a process on new free ports and
// waits for it) up to three times while it fails on a port clash.
func startRetrying[T any](t testing.TB, name string, try func() (T, *Process, error)) T {
	t.Helper()
	for attempt := 1; ; attempt++ {
		v, p, err := try()
		if err == nil {
			return v
		}
		if p != nil {
			_ = p.Stop()
			if attempt < 3 && p.portClash(err) {
				t.Logf("tooltest: %s: a chosen port was taken; retrying with new ports", name)
				continue
			}
		}
		t.Fatalf("tooltest: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
