package node

import (
	"context"
	"errors"
	"io"
	"time"
)

// errInterrupted is what an interruptible reader returns once its context is done.
var errInterrupted = errors.New("node: input interrupted")

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
