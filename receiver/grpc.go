package receiver

import (
	"context"
	"crypto/tls"
	"runtime"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/tap"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// grpcReadBufferSize is the size of each connection's read buffer.
const grpcReadBufferSize = 512 << 10

// The HTTP/2 flow-control windows of a stream and of a connection: fixed at
// the most that gRPC's bandwidth-delay estimation would grow them to
// (16 MiB), so no connection may have more unread bytes in flight than with
// gRPC's defaults. Fixed windows turn the estimator's pings off and send a
// window update every few requests instead of after each one: about 5% less
// CPU per received span (bench/otlp, telemetrygen load, same run).
const (
	grpcStreamWindow = 4 << 20
	grpcConnWindow   = 16 << 20
)

// exportMethods are the OTLP/gRPC methods the concurrency bound applies to.
var exportMethods = map[string]bool{
	"/opentelemetry.proto.collector.trace.v1.TraceService/Export":     true,
	"/opentelemetry.proto.collector.logs.v1.LogsService/Export":       true,
	"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export": true,
}

// grpcReceiver is the OTLP/gRPC transport.
type grpcReceiver struct {
	r     *Receivers
	cfg   GRPCConfig // defaults applied
	lim   limiter
	token bearer // set by Start before serving
	srv   *grpc.Server
}

func newGRPCReceiver(r *Receivers, cfg GRPCConfig) *grpcReceiver {
	cfg = cfg.withDefaults()
	g := &grpcReceiver{r: r, cfg: cfg}
	g.lim.max = int64(cfg.MaxConcurrentRequests)
	return g
}

// newServer builds the grpc.Server with the three OTLP services registered.
func (g *grpcReceiver) newServer(tlsCfg *tls.Config) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(g.cfg.MaxRecvMsgSizeMiB << 20),
		// The OTel Collector's default (configgrpc read_buffer_size): a batch
		// of spans is tens to hundreds of KiB, read in a few syscalls
		// rather than in 32 KiB steps.
		grpc.ReadBufferSize(grpcReadBufferSize),
		grpc.InTapHandle(g.admit),
		grpc.InitialWindowSize(grpcStreamWindow),
		grpc.InitialConnWindowSize(grpcConnWindow),
		// Requests run on long-lived workers (their stacks already grown),
		// not on a new goroutine each.
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	fast, ok := g.r.consumer.(TraceRequestConsumer)
	if ok {
		opts = append(opts, grpc.ForceServerCodecV2(newGRPCCodec()))
	}
	s := grpc.NewServer(opts...)
	if ok {
		g.registerTraceService(s, fast)
	} else {
		ptraceotlp.RegisterGRPCServer(s, &grpcTraces{g: g})
	}
	plogotlp.RegisterGRPCServer(s, &grpcLogs{g: g})
	pmetricotlp.RegisterGRPCServer(s, &grpcMetrics{g: g})
	return s
}

type slotKey struct{}

// admit runs when a stream opens, before its message is read: it checks the
// bearer token and takes a slot of the concurrency bound, refusing with
// UNAVAILABLE and RetryInfo when none is free. The slot is freed when the
// handler returns, or when the stream ends if no handler ran (a message too
// large or undecodable).
func (g *grpcReceiver) admit(ctx context.Context, info *tap.Info) (context.Context, error) {
	var auth string
	if v := info.Header.Get("authorization"); len(v) > 0 {
		auth = v[0]
	}
	if !g.token.allows(auth) {
		return ctx, grpcStatus(refuse(kindUnauthenticated, "receiver: missing or wrong bearer token")).Err()
	}
	if !exportMethods[info.FullMethodName] {
		return ctx, nil
	}
	if g.r.stopping.Load() {
		return ctx, grpcStatus(refuse(kindUnavailable, "receiver: stopping")).Err()
	}
	if !g.lim.acquire() {
		return ctx, grpcStatus(refuse(kindUnavailable, "receiver: grpc: max_concurrent_requests (%d) reached", g.lim.max)).Err()
	}
	s := &slot{lim: &g.lim}
	s.stop = context.AfterFunc(ctx, s.release)
	return context.WithValue(ctx, slotKey{}, s), nil
}

// releaseSlot frees the slot admit took for this call, now rather than when
// the stream's context ends, so the next request finds it free.
func releaseSlot(ctx context.Context) {
	if s, ok := ctx.Value(slotKey{}).(*slot); ok {
		s.stop()
		s.release()
	}
}

type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	g *grpcReceiver
}

// Export receives one OTLP/gRPC traces request.
func (s *grpcTraces) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	defer releaseSlot(ctx)
	resp, err := s.g.r.exportTraces(ctx, transportGRPC, req)
	if err != nil {
		return resp, grpcStatus(err).Err()
	}
	return resp, nil
}

type grpcLogs struct {
	plogotlp.UnimplementedGRPCServer
	g *grpcReceiver
}

// Export receives one OTLP/gRPC logs request.
func (s *grpcLogs) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	defer releaseSlot(ctx)
	resp, err := s.g.r.exportLogs(ctx, transportGRPC, req)
	if err != nil {
		return resp, grpcStatus(err).Err()
	}
	return resp, nil
}

type grpcMetrics struct {
	pmetricotlp.UnimplementedGRPCServer
	g *grpcReceiver
}

// Export receives one OTLP/gRPC metrics request.
func (s *grpcMetrics) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	defer releaseSlot(ctx)
	resp, err := s.g.r.exportMetrics(ctx, transportGRPC, req)
	if err != nil {
		return resp, grpcStatus(err).Err()
	}
	return resp, nil
}
