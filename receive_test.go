package meshobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshobs/meshobs/receiver"
	"github.com/meshobs/meshobs/telemetry"
)

// TestReceivedAccessLogs posts the records of accesslog/testdata — shaped
// exactly as Envoy, Istio, OTel HTTP instrumentation and meshobs emit them —
// as OTLP/JSON to a node's HTTP receiver: every record the table recognises
// becomes one access-log entry, with its edge in the per-pair counts, and
// the others are forwarded and counted, not guessed at.
func TestReceivedAccessLogs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Receivers = receiver.ServeDefaults()
	cfg.Receivers.OTLP.Protocols.GRPC = nil
	cfg.Receivers.OTLP.Protocols.HTTP.Endpoint = "127.0.0.1:0"
	in, err := New(cfg, WithStderr(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := in.ShutdownTimeout()
		defer cancel()
		_ = in.Shutdown(sctx)
	}()
	url := "http://" + in.Receivers().Addrs().HTTP + "/v1/logs"

	inputs, _ := filepath.Glob("accesslog/testdata/*.otlp.json")
	if len(inputs) == 0 {
		t.Fatal("no inputs")
	}
	var entries, records int
	pairs := map[string]int64{}
	for _, path := range inputs {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		wantFile := strings.TrimSuffix(path, ".otlp.json") + ".want.json"
		raw, err := os.ReadFile(wantFile)
		if err != nil {
			t.Fatal(err)
		}
		var loose struct {
			Entries []map[string]any `json:"entries"`
		}
		if err := json.Unmarshal(raw, &loose); err != nil {
			t.Fatal(err)
		}
		for _, e := range loose.Entries {
			records++
			if e["access_log"] != true {
				continue
			}
			entries++
			if src, dst := e["source"].(string), e["target"].(string); src != "" && dst != "" {
				pairs[src+" -> "+dst]++
			}
		}
	}
	if held, _ := in.Query().Retained(); held != entries {
		t.Fatalf("%d access-log entries held of %d records; want %d", held, records, entries)
	}
	got, err := in.Query().AccessLogs(ctx, telemetry.LogRequest{})
	if err != nil {
		t.Fatal(err)
	}
	gotPairs := map[string]int64{}
	for _, p := range got.Pairs {
		gotPairs[p.Source+" -> "+p.Target] = p.Count
	}
	if fmt.Sprint(gotPairs) != fmt.Sprint(pairs) {
		t.Fatalf("pairs %v, want %v", gotPairs, pairs)
	}
	stats := in.Query()
	gs, _ := stats.Stats(ctx, telemetry.StatsRequest{})
	var received int64
	for _, r := range gs.Receivers {
		if r.Transport == "http" && r.Signal == "logs" {
			received = r.Accepted
		}
	}
	if received != int64(records) {
		t.Fatalf("receiver accepted %d log records, want %d", received, records)
	}
	t.Logf("%d records, %d access-log entries, pairs %v", records, entries, gotPairs)
}
