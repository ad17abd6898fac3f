package tinyforge

import (
	"context"
	"time"
)

// WithTestClock replaces the clock, the sleep between retries and the
// jitter (identity), so retry tests need no real waiting.
func WithTestClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) {
		c.now, c.sleep = now, sleep
		c.jitter = func(d time.Duration) time.Duration { return d }
	}
}

// HalfJitter exposes the jitter for a bounds test.
var HalfJitter = halfJitter
