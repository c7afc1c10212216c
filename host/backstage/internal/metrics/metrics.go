// Package metrics exposes Verdict's Prometheus metrics: HTTP requests and
// decided items, guest call latency by module and outcome, and, read from
// the host's status at scrape time, each module's counters, pool and stuck
// calls, the snapshot generation, load failures and dropped decision-log
// entries. Only this package imports the Prometheus client.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/verdictpdp/verdict/host"
)

// StatusSource gives the host's status; *host.Host implements it.
type StatusSource interface {
	Status() host.Status
}

// Metrics holds Verdict's metrics and serves them. It is safe for
// concurrent use; the zero value is not usable, use New.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	items    *prometheus.CounterVec
	calls    *prometheus.HistogramVec
}

var (
	_ host.CallObserver = (*Metrics)(nil)
)

// New registers every metric. status is read at each scrape; dropped, when
// not nil, gives the decision log's dropped entries.
func New(status StatusSource, dropped func() uint64) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "verdict_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "verdict_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	m.items = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "verdict_decisions_total", Help: "Decided items by endpoint and final result.",
	}, []string{"endpoint", "result"})
	m.calls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "verdict_module_call_duration_seconds", Help: "Guest calls (one per batch per module) by module and outcome.",
		Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
	}, []string{"module", "outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.items, m.calls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&statusCollector{src: status, dropped: dropped})
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveItem records one decided item's final result.
func (m *Metrics) ObserveItem(endpoint, result string) {
	m.items.WithLabelValues(endpoint, result).Inc()
}

// ObserveCall records one guest call (host.CallObserver).
func (m *Metrics) ObserveCall(module string, d time.Duration, outcome string) {
	m.calls.WithLabelValues(module, outcome).Observe(d.Seconds())
}

// statusCollector turns the host's status into metrics at scrape time, so
// that the decision path pays nothing for them.
type statusCollector struct {
	src     StatusSource
	dropped func() uint64
}

var (
	descGeneration   = prometheus.NewDesc("verdict_snapshot_generation", "Generation of the active policy snapshot (0: none yet).", nil, nil)
	descLoadFailures = prometheus.NewDesc("verdict_module_load_failures_total", "Module loads that failed.", nil, nil)
	descModuleUp     = prometheus.NewDesc("verdict_module_status", "1 for the module's current status (OK, ERROR, QUARANTINED).", []string{"module", "status"}, nil)
	descDropped      = prometheus.NewDesc("verdict_decision_log_dropped_total", "Decision-log entries dropped because the sink fell behind.", nil, nil)
	descIdle         = prometheus.NewDesc("verdict_module_idle_instances", "Instances waiting in the module's pool.", []string{"module"}, nil)
	descStuck        = prometheus.NewDesc("verdict_module_stuck_calls", "Calls abandoned at their deadline that still hold an instance slot.", []string{"module"}, nil)
	moduleCounters   = []struct {
		desc *prometheus.Desc
		get  func(host.Counters) uint64
	}{
		{prometheus.NewDesc("verdict_module_calls_total", "Guest calls.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Calls }},
		{prometheus.NewDesc("verdict_module_items_total", "Items given to the module.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Items }},
		{prometheus.NewDesc("verdict_module_traps_total", "Calls that trapped.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Traps }},
		{prometheus.NewDesc("verdict_module_timeouts_total", "Calls that ran past their deadline.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Timeouts }},
		{prometheus.NewDesc("verdict_module_bad_output_total", "Calls whose output was refused.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.BadOutput }},
		{prometheus.NewDesc("verdict_module_denied_by_failure_total", "Items denied because of a failure.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Denied }},
		{prometheus.NewDesc("verdict_module_instances_discarded_total", "Instances thrown away after an error.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Discarded }},
		{prometheus.NewDesc("verdict_module_quarantines_total", "Times the module was quarantined.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.Quarantines }},
		{prometheus.NewDesc("verdict_module_log_bytes_dropped_total", "Guest log bytes over the cap.", []string{"module"}, nil), func(c host.Counters) uint64 { return c.LogDrops }},
	}
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descGeneration
	ch <- descLoadFailures
	ch <- descModuleUp
	ch <- descDropped
	ch <- descIdle
	ch <- descStuck
	for _, mc := range moduleCounters {
		ch <- mc.desc
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	ch <- prometheus.MustNewConstMetric(descGeneration, prometheus.GaugeValue, float64(st.Generation))
	ch <- prometheus.MustNewConstMetric(descLoadFailures, prometheus.CounterValue, float64(st.LoadFailures))
	if c.dropped != nil {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(c.dropped()))
	}
	for _, p := range st.Policies {
		ch <- prometheus.MustNewConstMetric(descModuleUp, prometheus.GaugeValue, 1, p.Name, p.Status)
		if p.SHA256 == "" {
			continue // never loaded: no counters
		}
		ch <- prometheus.MustNewConstMetric(descIdle, prometheus.GaugeValue, float64(p.Counters.Instances), p.Name)
		ch <- prometheus.MustNewConstMetric(descStuck, prometheus.GaugeValue, float64(p.Counters.Stuck), p.Name)
		for _, mc := range moduleCounters {
			ch <- prometheus.MustNewConstMetric(mc.desc, prometheus.CounterValue, float64(mc.get(p.Counters)), p.Name)
		}
	}
}
