package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

var benchPayload = make([]byte, 2048) // a typical small webhook body

// BenchmarkEnqueueParallel: many HTTP handlers enqueueing at once; group
// commit turns them into few transactions (one fsync each).
func BenchmarkEnqueueParallel(b *testing.B) {
	s := openT(b, tempDB(b))
	ctx := context.Background()
	var seq atomic.Int64
	b.SetParallelism(16) // 16 × GOMAXPROCS concurrent webhooks
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(ctx, Delivery{ID: fmt.Sprint("p", seq.Add(1)), Event: "push", Payload: benchPayload}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
	b.ReportMetric(float64(b.N)/float64(max(s.batches.Load(), 1)), "rows/commit")
}

// BenchmarkEnqueueSerial: one caller at a time; every Enqueue is its own
// transaction, plus the hand-off to the writer goroutine.
func BenchmarkEnqueueSerial(b *testing.B) {
	s := openT(b, tempDB(b))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Enqueue(ctx, Delivery{ID: fmt.Sprint("s", i), Event: "push", Payload: benchPayload}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
}

// BenchmarkRawInsert: the floor — one BEGIN IMMEDIATE, INSERT, COMMIT per
// row on the same connection settings (WAL, synchronous=FULL), no writer
// goroutine.
func BenchmarkRawInsert(b *testing.B) {
	s := openT(b, tempDB(b))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprint("r", i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries(id, event, received_ns, state, next_attempt_ns)
			VALUES(?, 'push', 1, 'pending', 1)`, id); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_payloads(id, payload) VALUES(?, ?)`, id, benchPayload); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}

func BenchmarkClaimOnce(b *testing.B) {
	s := openT(b, tempDB(b))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.ClaimOnce(ctx, fmt.Sprint("comment:", i)); err != nil {
			b.Fatal(err)
		}
	}
}
