package node

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// errInterrupted is what an interruptible reader returns once its context is done.
var errInterrupted = errors.New("node: input interrupted")

// newInput returns a reader of r whose reads fail with errInterrupted once
// ctx is done, and what to call when done with it. Reads happen on the
// caller's goroutine when r allows it: a reader with a read deadline (a
// pipe, a socket, a terminal) is interrupted by a deadline in the past, and
// a regular file never keeps a read waiting for input; either way no read
// is left behind. Any other reader is read on a goroutine of its own
// (interruptible).
func newInput(ctx context.Context, r io.Reader) (io.Reader, func()) {
	if d, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok && d.SetReadDeadline(time.Time{}) == nil {
		stop := context.AfterFunc(ctx, func() { _ = d.SetReadDeadline(time.Unix(1, 0)) })
		return &deadlineReader{ctx: ctx, r: r}, func() { stop() }
	}
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return &deadlineReader{ctx: ctx, r: r}, func() {}
		}
	}
	in := newInterruptible(ctx, r)
	return in, in.close
}

// deadlineReader reads r on the caller's goroutine: r is a regular file, or
// has a read deadline that is set in the past once ctx is done.
type deadlineReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.ctx.Err() != nil {
		d.err = errInterrupted
		return 0, d.err
	}
	n, err := d.r.Read(p)
	if err != nil && d.ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		d.err = errInterrupted
		return n, d.err
	}
	return n, err
}

// interruptible reads r on a goroutine of its own and hands the data over
// through a channel, so that a read blocked on an idle input does not keep
// Run from returning when its context is done.
type interruptible struct {
	ctx     context.Context
	r       io.Reader
	data    chan []byte   // a filled part of the goroutine's buffer
	ack     chan struct{} // that part was consumed: the buffer is free again
	errc    chan error    // the read error that ended the goroutine
	pending []byte
	err     error
}

func newInterruptible(ctx context.Context, r io.Reader) *interruptible {
	in := &interruptible{
		ctx:  ctx,
		r:    r,
		data: make(chan []byte),
		ack:  make(chan struct{}, 1),
		errc: make(chan error, 1),
	}
	go in.loop()
	return in
}

func (in *interruptible) loop() {
	buf := make([]byte, 64<<10)
	done := in.ctx.Done()
	for {
		n, err := in.r.Read(buf)
		if n > 0 {
			select {
			case in.data <- buf[:n]:
			case <-done:
				return
			}
			select {
			case <-in.ack:
			case <-done:
				return
			}
		}
		if err != nil {
			in.errc <- err
			return
		}
	}
}

// Read returns data the goroutine read, or errInterrupted once ctx is done.
func (in *interruptible) Read(p []byte) (int, error) {
	if len(in.pending) == 0 {
		if in.err != nil {
			return 0, in.err
		}
		select {
		case in.pending = <-in.data:
		case in.err = <-in.errc:
			return 0, in.err
		case <-in.ctx.Done():
			in.err = errInterrupted
			return 0, in.err
		}
	}
	n := copy(p, in.pending)
	in.pending = in.pending[n:]
	if len(in.pending) == 0 {
		in.ack <- struct{}{}
	}
	return n, nil
}

// close ends a read still blocked, where the reader allows it; ctx must be done.
func (in *interruptible) close() {
	if d, ok := in.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = d.SetReadDeadline(time.Unix(1, 0))
	}
}
