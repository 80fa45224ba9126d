package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshobs/meshobs/exporters/outbound"
	"github.com/meshobs/meshobs/telemetry"
)

// Sources are where SelfCollector reads meshobs's own counters. Each is
// called on every scrape, possibly concurrently with ingest, so each must
// be safe for concurrent use and cheap; a nil one is left out.
type Sources struct {
	// Replies returns how many replies the stdio node wrote, and how many
	// of them were error bodies (rejected requests).
	Replies func() (replies, rejected int64)
	// Receivers returns each receiver's item counts (per transport and signal).
	Receivers func() []telemetry.ReceiverStat
	// Exports returns each outbound exporter's item counts (per signal).
	Exports func() []outbound.Stat
	// Retained returns how many access-log entries and spans the stores hold.
	Retained func() (logs, spans int)
}

// SelfCollector is a prometheus.Collector of meshobs's own counters: what
// the stdio node answered, what the receivers took in or refused, what the
// exporters sent, and what the stores hold. Register it on the registry
// given to WithMetrics.
type SelfCollector struct {
	src Sources
}

var _ prometheus.Collector = (*SelfCollector)(nil)

// NewSelfCollector returns a collector reading src.
func NewSelfCollector(src Sources) *SelfCollector { return &SelfCollector{src: src} }

var (
	repliesDesc = prometheus.NewDesc("meshobs_stdio_replies_total",
		"Replies the stdio node wrote, error bodies included.", nil, nil)
	rejectedDesc = prometheus.NewDesc("meshobs_stdio_rejected_total",
		"Requests the stdio node answered with an error body.", nil, nil)
	receivedDesc = prometheus.NewDesc("meshobs_receiver_received_items_total",
		"Items (spans, log records, metric points) a receiver took in: accepted plus refused.",
		[]string{"receiver", "transport", "signal"}, nil)
	receiverDesc = prometheus.NewDesc("meshobs_receiver_items_total",
		`Items a receiver took in, by outcome: "accepted" (passed to the pipeline) or "refused" (answered with an error, nothing kept).`,
		[]string{"receiver", "transport", "signal", "outcome"}, nil)
	exportDesc = prometheus.NewDesc("meshobs_export_items_total",
		`Items an outbound exporter handled, by outcome: "accepted" (handed to its queue), "exported" (taken by the endpoint), "failed" (in a failed export request, not sent again).`,
		[]string{"exporter", "signal", "outcome"}, nil)
	droppedDesc = prometheus.NewDesc("meshobs_export_items_dropped",
		"Items an outbound exporter accepted but has not exported (accepted - exported): still queued while running, lost at exit.",
		[]string{"exporter", "signal"}, nil)
	retainedDesc = prometheus.NewDesc("meshobs_retained_items",
		`Individual entries the in-memory stores hold for raw queries and traces, by store: "access_logs" or "spans".`,
		[]string{"store"}, nil)
)

// Describe sends the descriptions of the metrics its sources give.
func (c *SelfCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.src.Replies != nil {
		ch <- repliesDesc
		ch <- rejectedDesc
	}
	if c.src.Receivers != nil {
		ch <- receivedDesc
		ch <- receiverDesc
	}
	if c.src.Exports != nil {
		ch <- exportDesc
		ch <- droppedDesc
	}
	if c.src.Retained != nil {
		ch <- retainedDesc
	}
}

// Collect reads every source once and sends its values.
func (c *SelfCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	if c.src.Replies != nil {
		replies, rejected := c.src.Replies()
		counter(repliesDesc, replies)
		counter(rejectedDesc, rejected)
	}
	if c.src.Receivers != nil {
		for _, r := range c.src.Receivers() {
			counter(receivedDesc, r.Received, r.Receiver, r.Transport, r.Signal)
			counter(receiverDesc, r.Accepted, r.Receiver, r.Transport, r.Signal, "accepted")
			counter(receiverDesc, r.Refused, r.Receiver, r.Transport, r.Signal, "refused")
		}
	}
	if c.src.Exports != nil {
		for _, e := range c.src.Exports() {
			counter(exportDesc, e.Accepted, e.Exporter, e.Signal, "accepted")
			counter(exportDesc, e.Exported, e.Exporter, e.Signal, "exported")
			counter(exportDesc, e.Failed, e.Exporter, e.Signal, "failed")
			gauge(droppedDesc, e.Dropped, e.Exporter, e.Signal)
		}
	}
	if c.src.Retained != nil {
		logs, spans := c.src.Retained()
		gauge(retainedDesc, int64(logs), "access_logs")
		gauge(retainedDesc, int64(spans), "spans")
	}
}
