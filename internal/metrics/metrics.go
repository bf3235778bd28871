// Package metrics owns cartstream's Prometheus registry and every collector
// in it. Components receive a *Metrics and count what they do; nothing
// registers into the global default registry, so tests can build as many
// instances as they like.
//
// Names follow Prometheus conventions: the cartstream_ prefix, base units
// (seconds, bytes), _total for counters. docs/operations.md lists them.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "cartstream"

// Metrics holds the registry and the collectors components update.
type Metrics struct {
	reg *prometheus.Registry

	// ComponentRestarts counts restarts of supervised components
	// (processors, views, emitters) by component name.
	ComponentRestarts *prometheus.CounterVec
	// ComponentReady is 1 while a supervised component is ready, else 0.
	ComponentReady *prometheus.GaugeVec
	// TicksEmitted counts tick records produced, by topic.
	TicksEmitted *prometheus.CounterVec
	// TickErrors counts failed tick produces, by topic.
	TickErrors *prometheus.CounterVec
	// EventTimeFallbacks counts records whose claimed event time lay
	// outside the allowed skew, so the record timestamp was used, by group.
	EventTimeFallbacks *prometheus.CounterVec
	// StreamTime is each partition's stream time in Unix seconds.
	StreamTime *prometheus.GaugeVec
	// TopicsCreated counts topics created at startup.
	TopicsCreated prometheus.Counter
	// RecordsProcessed counts input records a group handled, by group and
	// partition (dead-lettered and skipped records included).
	RecordsProcessed *prometheus.CounterVec
	// DeadLetters counts records sent to the dead-letter topic, by group
	// and class.
	DeadLetters *prometheus.CounterVec
	// Forwarded counts records found in a partition that does not own their
	// key and forwarded through the group's loop topic, by group.
	Forwarded *prometheus.CounterVec
	// TransientRetries counts retries of transient failures (schema
	// registry unreachable), by group.
	TransientRetries *prometheus.CounterVec
	// Reservations counts reservation commands the inventory group
	// decided, by op, status and reason ("" when none); duplicates
	// answered from the dedup store are counted under status "duplicate".
	Reservations *prometheus.CounterVec
	// ProcessingSeconds is the time a group's callback takes per input
	// record, by group and partition.
	ProcessingSeconds *prometheus.HistogramVec
	// EndToEndSeconds is the time from an input record's timestamp (the
	// broker's LogAppendTime for cart events) to the output it caused
	// being handed to the producer, by output topic.
	EndToEndSeconds *prometheus.HistogramVec
	// ConsumerLag is a group's lag on a partition, in records (summed over
	// its input topics), as last polled.
	ConsumerLag *prometheus.GaugeVec
	// OffersEmitted counts evaluated offers written.
	OffersEmitted prometheus.Counter
	// PromotionsApplied counts promotions applied in emitted offers.
	PromotionsApplied prometheus.Counter
	// StateStoreBytes is the disk size of each open local store, by topic
	// and partition.
	StateStoreBytes *prometheus.GaugeVec
}

// New builds a registry with the Go runtime and process collectors and every
// cartstream collector.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m := &Metrics{
		reg: reg,
		ComponentRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "component_restarts_total",
			Help: "Restarts of supervised components (processors, views, emitters) after a failure.",
		}, []string{"component"}),
		ComponentReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "component_ready",
			Help: "1 while a supervised component is running and recovered, else 0.",
		}, []string{"component"}),
		TicksEmitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "ticks_emitted_total",
			Help: "Tick records produced into the ticks topics.",
		}, []string{"topic"}),
		TickErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tick_errors_total",
			Help: "Tick records that failed to produce.",
		}, []string{"topic"}),
		EventTimeFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "event_time_fallbacks_total",
			Help: "Records whose ts lay outside the allowed skew of the record timestamp, so the record timestamp was used.",
		}, []string{"group"}),
		StreamTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "stream_time_seconds",
			Help: "Stream time (largest event time seen) per group and partition, in Unix seconds.",
		}, []string{"group", "partition"}),
		TopicsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "topics_created_total",
			Help: "Topics created by this instance at startup.",
		}),
	}
	m.RecordsProcessed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "records_processed_total",
		Help: "Input records handled by a group, by partition (dead-lettered and skipped records included).",
	}, []string{"group", "partition"})
	m.DeadLetters = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "dead_letters_total",
		Help: "Records sent to the dead-letter topic, by group and error class.",
	}, []string{"group", "class"})
	m.Forwarded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "forwarded_mispartitioned_total",
		Help: "Records found in a partition that does not own their key, forwarded once to the owner.",
	}, []string{"group"})
	m.TransientRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "transient_retries_total",
		Help: "Retries of transient failures (schema registry unreachable), by group.",
	}, []string{"group"})
	m.Reservations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "reservations_total",
		Help: "Reservation commands decided by the inventory group, by op, status and reason; redelivered commands answered from the dedup store have status duplicate.",
	}, []string{"op", "status", "reason"})
	latency := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	m.ProcessingSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "processing_seconds", Buckets: latency,
		Help: "Time a group's callback takes per input record.",
	}, []string{"group", "partition"})
	m.EndToEndSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "end_to_end_seconds", Buckets: latency,
		Help: "Time from an input record's timestamp to the output it caused being produced, by output topic.",
	}, []string{"topic"})
	m.ConsumerLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "consumer_lag_records",
		Help: "Records a group has yet to consume on a partition, summed over its input topics.",
	}, []string{"group", "partition"})
	m.OffersEmitted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "offers_emitted_total", Help: "Evaluated offers written to the offers topic.",
	})
	m.PromotionsApplied = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "promotions_applied_total", Help: "Promotions applied in the offers written.",
	})
	m.StateStoreBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "state_store_bytes", Help: "Disk size of each open local store.",
	}, []string{"topic", "partition"})
	reg.MustRegister(m.Reservations, m.ProcessingSeconds, m.EndToEndSeconds, m.ConsumerLag,
		m.OffersEmitted, m.PromotionsApplied, m.StateStoreBytes)
	reg.MustRegister(m.ComponentRestarts, m.ComponentReady, m.TicksEmitted, m.TickErrors,
		m.EventTimeFallbacks, m.StreamTime, m.TopicsCreated,
		m.RecordsProcessed, m.DeadLetters, m.Forwarded, m.TransientRetries)
	return m
}

// Registry returns the registry, for components that register collectors of
// their own and for tests that gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
