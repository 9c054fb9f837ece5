// Package tracing sets up OpenTelemetry traces from the standard OTEL_*
// environment: an OTLP/HTTP exporter when an endpoint is set, nothing at
// all otherwise (every part then skips its spans, so tracing costs nothing
// on the hot path). It also holds the HTTP server span of a request, the
// W3C trace context propagation (accepted from callers only when told to
// trust it) and the log handler that adds the trace id to each log line.
//
// No global of the otel package is set: the provider travels through
// wire.Config to each part that makes spans.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config is what the tracer provider is made of; FromEnv reads it.
type Config struct {
	// Endpoint is the full URL spans are posted to (OTLP/HTTP protobuf);
	// "" turns tracing off.
	Endpoint string
	// ServiceName is the service.name of the spans.
	ServiceName string
	// Sampler is an OTEL_TRACES_SAMPLER value, SamplerArg its argument.
	Sampler, SamplerArg string
	// BatchDelay is how long spans wait to be exported together.
	BatchDelay time.Duration
	// TrustHeaders accepts the callers' traceparent and tracestate headers
	// (W3C trace context); otherwise every request starts a new trace.
	TrustHeaders bool
}

// DefaultServiceName is the service.name without OTEL_SERVICE_NAME.
const DefaultServiceName = "assetgate"

// FromEnv reads the configuration from the standard OTEL_* variables
// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT with
// /v1/traces appended; OTEL_SERVICE_NAME; OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG; OTEL_BSP_SCHEDULE_DELAY in milliseconds;
// OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off) and
// ASSETGATE_TRUST_TRACE_HEADERS. It reports the first unusable value.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{ServiceName: getenv("OTEL_SERVICE_NAME"), Sampler: getenv("OTEL_TRACES_SAMPLER"),
		SamplerArg: getenv("OTEL_TRACES_SAMPLER_ARG"), BatchDelay: 5 * time.Second}
	if c.ServiceName == "" {
		c.ServiceName = DefaultServiceName
	}
	switch v := getenv("ASSETGATE_TRUST_TRACE_HEADERS"); v {
	case "", "false":
	case "true":
		c.TrustHeaders = true
	default:
		return c, fmt.Errorf("ASSETGATE_TRUST_TRACE_HEADERS must be true or false, got %q", v)
	}
	if d := getenv("OTEL_BSP_SCHEDULE_DELAY"); d != "" {
		ms, err := strconv.Atoi(d)
		if err != nil || ms < 1 || ms > 600000 {
			return c, fmt.Errorf("OTEL_BSP_SCHEDULE_DELAY must be milliseconds between 1 and 600000, got %q", d)
		}
		c.BatchDelay = time.Duration(ms) * time.Millisecond
	}
	if _, err := sampler(c.Sampler, c.SamplerArg); err != nil {
		return c, err
	}
	if p := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p != "" && p != "http/protobuf" {
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: only http/protobuf is supported, got %q", p)
	} else if p := getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p != "" && p != "http/protobuf" && getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") == "" {
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, got %q", p)
	}
	if getenv("OTEL_SDK_DISABLED") == "true" || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return c, nil
	}
	if e := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); e != "" {
		c.Endpoint = e
	} else if e := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); e != "" {
		c.Endpoint = strings.TrimRight(e, "/") + "/v1/traces"
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got %q", c.Endpoint)
	}
	return c, nil
}

// sampler returns the sampler an OTEL_TRACES_SAMPLER value names; ""
// is the specification's default, parentbased_always_on.
func sampler(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, got %q", arg)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q is not supported (always_on, always_off, traceidratio and their parentbased_ forms are)", name)
}

// Tracing is the tracer provider of a process and the HTTP server spans
// made with it. A nil *Tracing is off: its methods do nothing.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	http       trace.Tracer
	propagator propagation.TextMapPropagator // nil: callers' headers are ignored
}

// New makes the tracer provider of cfg, or returns nil when cfg has no
// endpoint. Shut it down to export the last spans.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	s, err := sampler(cfg.Sampler, cfg.SamplerArg)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName)))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(cfg.BatchDelay)))
	t := &Tracing{provider: tp, http: tp.Tracer("github.com/assetgate/assetgate/http")}
	if cfg.TrustHeaders {
		t.propagator = propagation.TraceContext{}
	}
	return t, nil
}

// Provider returns the tracer provider, nil when off.
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.provider
}

// Shutdown exports the spans still waiting and stops the provider.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// StartRequest starts the server span of r (the child of the caller's
// trace context when headers are trusted); the name is the method until
// EndRequest knows the route.
func (t *Tracing) StartRequest(r *http.Request) (context.Context, trace.Span) {
	ctx := r.Context()
	if t.propagator != nil {
		ctx = t.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	return t.http.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("url.scheme", scheme(r)),
	))
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// EndRequest names the span after the route pattern that served the
// request ("GET /api/v1/devices/{id}"), records its status (5xx is an
// error, as the conventions say for servers) and ends it.
func EndRequest(span trace.Span, method, route string, status int) {
	if route != "" {
		span.SetName(method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// LogHandler wraps h so that each record logged with the context of a
// traced request carries its trace_id and span_id.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
