package app

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tinyforge/tinyforge-bot/store"
)

// metrics are the bot's Prometheus collectors, on a registry of their own so
// tests and the demo can run several servers in one process.
type metrics struct {
	reg               *prometheus.Registry
	webhooks          *prometheus.CounterVec
	processed         *prometheus.CounterVec
	processing        *prometheus.HistogramVec
	githubCalls       *prometheus.CounterVec
	githubRateLimit   *prometheus.GaugeVec
	githubRateWaits   prometheus.Counter
	tinyforgeCalls    *prometheus.CounterVec
	tinyforgeDuration *prometheus.HistogramVec
	syncs             *prometheus.CounterVec
	checks            *prometheus.CounterVec
}

func newMetrics(stats func(context.Context) (store.InboxStats, error)) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tinyforge_bot_webhooks_total", Help: "Webhook deliveries received, by event and outcome (accepted, duplicate, rejected, error).",
		}, []string{"event", "outcome"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tinyforge_bot_deliveries_processed_total", Help: "Inbox deliveries processed, by event and outcome (done, retry, dead).",
		}, []string{"event", "outcome"}),
		processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tinyforge_bot_processing_seconds", Help: "Time to process one delivery, by event.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"event"}),
		githubCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tinyforge_bot_github_requests_total", Help: "GitHub API requests, by route and status (304 = served from the cache after revalidation).",
		}, []string{"route", "status"}),
		githubRateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tinyforge_bot_github_rate_limit_remaining", Help: "GitHub's x-ratelimit-remaining, by resource.",
		}, []string{"resource"}),
		githubRateWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tinyforge_bot_github_rate_limit_waits_total", Help: "Times a GitHub request waited for a rate limit to reset.",
		}),
		tinyforgeCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tinyforge_bot_tinyforge_requests_total", Help: "Tinyforge API requests, by route and status (0 = no answer).",
		}, []string{"method", "route", "status"}),
		tinyforgeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tinyforge_bot_tinyforge_request_seconds", Help: "Tinyforge API request latency, by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"method", "route"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tinyforge_bot_syncs_total", Help: "Sync attempts, by outcome (applied, noop, denied, refused, failed).",
		}, []string{"outcome"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tinyforge_bot_check_runs_total", Help: "Check runs completed, by conclusion.",
		}, []string{"conclusion"}),
	}
	m.reg.MustRegister(m.webhooks, m.processed, m.processing, m.githubCalls, m.githubRateLimit, m.githubRateWaits,
		m.tinyforgeCalls, m.tinyforgeDuration, m.syncs, m.checks, inboxCollector{stats},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Families with labels appear only once used; pre-create the usual ones
	// so dashboards see zeros rather than gaps.
	for _, o := range []string{"applied", "noop", "denied", "refused", "failed"} {
		m.syncs.WithLabelValues(o)
	}
	for _, c := range []string{"success", "neutral", "failure"} {
		m.checks.WithLabelValues(c)
	}
	return m
}

var (
	reposPrefix = regexp.MustCompile(`^/repos/[^/]+/[^/]+`)
	numericSeg  = regexp.MustCompile(`/[0-9]+(/|$)`)
)

// routeParams are the path parameters that may contain anything (slashes,
// dots) and so are cut by position; keepTail keeps what follows the
// parameter's own segment (…/commits/{ref}/check-runs).
var routeParams = []struct {
	cut, name string
	keepTail  bool
}{
	{"/contents/", "{path}", false},
	{"/compare/", "{basehead}", false},
	{"/commits/", "{ref}", true},
	{"/branches/", "{branch}", false},
	{"/collaborators/", "{username}", true},
	{"/memberships/", "{username}", false},
}

// githubRoute turns a request path into a low-cardinality route label.
func githubRoute(method, path string) string {
	path = "/" + strings.TrimLeft(path, "/")
	if i := strings.Index(path, "/api/v3/"); i == 0 {
		path = path[len("/api/v3"):]
	}
	path = reposPrefix.ReplaceAllString(path, "/repos/{owner}/{repo}")
	for _, seg := range routeParams {
		if i := strings.Index(path, seg.cut); i >= 0 {
			rest, tail := path[i+len(seg.cut):], ""
			if seg.keepTail {
				if j := strings.Index(rest, "/"); j >= 0 {
					tail = rest[j:]
				}
			}
			path = path[:i+len(seg.cut)] + seg.name + tail
			break
		}
	}
	for numericSeg.MatchString(path) {
		path = numericSeg.ReplaceAllString(path, "/{id}$1")
	}
	if strings.HasPrefix(path, "/orgs/") {
		parts := strings.Split(path, "/")
		if len(parts) > 4 {
			parts[2], parts[4] = "{org}", "{team}"
		}
		path = strings.Join(parts, "/")
	}
	return method + " " + path
}

func statusLabel(code int) string {
	if code == 0 {
		return "0"
	}
	return strconv.Itoa(code)
}

var (
	inboxPendingDesc = prometheus.NewDesc("tinyforge_bot_inbox_pending", "Deliveries waiting in the inbox.", nil, nil)
	inboxDeadDesc    = prometheus.NewDesc("tinyforge_bot_inbox_dead", "Deliveries that failed every attempt.", nil, nil)
	inboxAgeDesc     = prometheus.NewDesc("tinyforge_bot_inbox_oldest_pending_age_seconds", "Age of the oldest pending delivery (0 when none).", nil, nil)
)

// inboxCollector reads the inbox once per scrape and reports its gauges.
type inboxCollector struct {
	stats func(context.Context) (store.InboxStats, error)
}

func (c inboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inboxPendingDesc
	ch <- inboxDeadDesc
	ch <- inboxAgeDesc
}

func (c inboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(inboxPendingDesc, err)
		return
	}
	age := 0.0
	if !s.OldestPending.IsZero() {
		age = time.Since(s.OldestPending).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(inboxPendingDesc, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(inboxDeadDesc, prometheus.GaugeValue, float64(s.Dead))
	ch <- prometheus.MustNewConstMetric(inboxAgeDesc, prometheus.GaugeValue, age)
}
