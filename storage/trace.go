package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// maxQueryText bounds the statement text a span carries. Statements hold
// placeholders only, never values.
const maxQueryText = 2000

// span starts the client span of one statement, named after its operation
// (SELECT, INSERT, …), when b has a tracer; nil otherwise.
func (b bound) span(ctx context.Context, query string) (context.Context, trace.Span) {
	if b.tracer == nil {
		return ctx, nil
	}
	text := query
	if len(text) > maxQueryText {
		text = text[:maxQueryText]
	}
	system := b.dialect
	if system == Postgres {
		system = "postgresql"
	}
	return b.tracer.Start(ctx, sqlOperation(query), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", system), attribute.String("db.query.text", text)))
}

// sqlOperation is the first keyword of a statement, upper-cased.
func sqlOperation(query string) string {
	q := strings.TrimSpace(query)
	if i := strings.IndexAny(q, " \t\n("); i > 0 {
		q = q[:i]
	}
	if q == "" || len(q) > 16 {
		return "SQL"
	}
	return strings.ToUpper(q)
}

// endSpan ends a statement's span (nil: none), marked as failed for an
// error other than "no rows". The error's text stays out of the span: it
// may quote values.
func endSpan(s trace.Span, err error) {
	if s == nil {
		return
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		s.SetStatus(codes.Error, "statement failed")
	}
	s.End()
}

// RedisTracing is a go-redis hook that makes a client span of each
// command ("redis GET") and pipeline ("redis pipeline"), without
// arguments: keys hold hashes of tokens.
func RedisTracing(tr trace.Tracer) redis.Hook { return redisTracing{tr} }

type redisTracing struct{ tr trace.Tracer }

// DialHook implements redis.Hook.
func (h redisTracing) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (h redisTracing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		name := strings.ToUpper(cmd.Name())
		ctx, span := h.tr.Start(ctx, "redis "+name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("db.system.name", "redis"), attribute.String("db.operation.name", name)))
		err := next(ctx, cmd)
		endRedisSpan(span, err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (h redisTracing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, span := h.tr.Start(ctx, "redis pipeline", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("db.system.name", "redis"), attribute.Int("db.operation.batch.size", len(cmds))))
		err := next(ctx, cmds)
		endRedisSpan(span, err)
		return err
	}
}

func endRedisSpan(s trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		s.SetStatus(codes.Error, "command failed")
	}
	s.End()
}
