package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// maxRateLimitWait bounds one wait for GitHub's limits; past it the request
// fails and the inbox retries the delivery later, so no work is dropped.
const maxRateLimitWait = 15 * time.Minute

// githubMiddleware records every GitHub call and honours GitHub's primary and
// secondary rate limits: when GitHub says to wait (Retry-After, or
// x-ratelimit-remaining 0 with x-ratelimit-reset), the request waits and is
// sent again, so a burst slows down instead of failing.
func githubMiddleware(m *metrics, logger zerolog.Logger, sleep func(time.Duration, *http.Request) bool) githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			route := githubRoute(r.Method, r.URL.Path)
			for attempt := 0; ; attempt++ {
				resp, err := next.RoundTrip(r)
				if err != nil {
					m.githubCalls.WithLabelValues(route, "0").Inc()
					return resp, err
				}
				m.githubCalls.WithLabelValues(route, statusLabel(resp.StatusCode)).Inc()
				if rem := resp.Header.Get("X-RateLimit-Remaining"); rem != "" {
					if n, err := strconv.Atoi(rem); err == nil {
						res := resp.Header.Get("X-RateLimit-Resource")
						if res == "" {
							res = "core"
						}
						m.githubRateLimit.WithLabelValues(res).Set(float64(n))
					}
				}
				wait, limited := rateLimitWait(resp, time.Now())
				if !limited || attempt >= 3 || wait > maxRateLimitWait || (r.Body != nil && r.GetBody == nil) {
					return resp, nil
				}
				m.githubRateWaits.Inc()
				logger.Warn().Str("route", route).Dur("wait", wait).Msg("GitHub rate limit reached; waiting")
				resp.Body.Close()
				if !sleep(wait, r) {
					return nil, r.Context().Err()
				}
				if r.GetBody != nil {
					body, err := r.GetBody()
					if err != nil {
						return nil, err
					}
					r = r.Clone(r.Context())
					r.Body = body
				}
			}
		})
	}
}

// rateLimitWait reads how long GitHub asks us to wait. GitHub signals limits
// with 403 or 429 and either Retry-After (secondary limits) or
// x-ratelimit-remaining: 0 with a reset time (primary limits).
func rateLimitWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Until(time.Unix(reset, 0)), 0) + time.Second, true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return time.Minute, true
	}
	return 0, false
}

// sleepCtx waits d unless the request is cancelled first.
func sleepCtx(d time.Duration, r *http.Request) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
