package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// WithSlog sends the middleware's lines to l, for a service that logs with
// log/slog: the same lines with the same fields (id, method, path,
// status, cause, ...) and the same guarantees as with zerolog, the
// message as the record's message, the level mapped (warn for a 4xx,
// error for a 5xx), the time from the clock of [WithClock]. Each field
// keeps the type it has in the JSON line: a string, an int64 or float64,
// a bool, or a []any or map[string]any. A handler gets the request's
// logger as a *slog.Logger with [Slog]. It replaces [WithLogger]'s logger,
// as that replaces this one: the last of the two given applies. Errors
// panics on nil.
//
// zerolog stays the default, and the request's zerolog logger
// (zerolog.Ctx) writes through l too.
func WithSlog(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			panic("middleware: WithSlog(nil)")
		}
		c.slog = l.Handler()
		c.ownLogger = true
	}
}

// Slog returns the request's logger as a *slog.Logger: its lines carry the
// request's id (and trace_id, span_id and service) as the middleware's
// lines do, and go where they go (the *slog.Logger of [WithSlog], or the
// zerolog logger, through zerolog's slog handler). Outside the middleware
// it is the zerolog logger of ctx (zerolog.Ctx) when there is one, and
// slog.Default() otherwise.
func Slog(ctx context.Context) *slog.Logger {
	if t := trackerFrom(ctx); t != nil {
		return t.slogLogger()
	}
	if l := zerolog.Ctx(ctx); l != zerolog.DefaultContextLogger && l.GetLevel() != zerolog.Disabled {
		return slog.New(untimed{zerolog.NewSlogHandler(*l)})
	}
	return slog.Default()
}

// slogLogger is the request's *slog.Logger, made on each call: handlers
// that ask for it once per request pay for it once.
func (t *tracker) slogLogger() *slog.Logger {
	if h := t.cfg.slog; h != nil {
		attrs := make([]slog.Attr, 0, 4)
		if t.cfg.service != "" {
			attrs = append(attrs, slog.String("service", t.cfg.service))
		}
		attrs = append(attrs, slog.String("id", t.id))
		if t.traceID != "" {
			attrs = append(attrs, slog.String("trace_id", t.traceID), slog.String("span_id", t.spanID))
		}
		return slog.New(h.WithAttrs(attrs))
	}
	return slog.New(untimed{zerolog.NewSlogHandler(*t.contextLogger())})
}

// untimed is zerolog's slog handler without the record's time: zerolog's
// handler writes it in zerolog's process-wide format, beside the "time"
// that the logger's own hook (NewLogger's) writes.
type untimed struct{ h slog.Handler }

func (u untimed) Enabled(ctx context.Context, l slog.Level) bool { return u.h.Enabled(ctx, l) }

func (u untimed) Handle(ctx context.Context, r slog.Record) error {
	r.Time = time.Time{}
	return u.h.Handle(ctx, r)
}

func (u untimed) WithAttrs(attrs []slog.Attr) slog.Handler { return untimed{u.h.WithAttrs(attrs)} }
func (u untimed) WithGroup(name string) slog.Handler       { return untimed{u.h.WithGroup(name)} }

// slogWriter is the writer of the zerolog logger that the middleware uses
// under WithSlog: each JSON line it is given becomes one slog record.
type slogWriter struct {
	h   slog.Handler
	now func() time.Time
}

func (s slogWriter) Write(p []byte) (int, error) {
	level, msg, attrs, err := parseLine(p)
	if err != nil {
		return 0, fmt.Errorf("middleware: a log line for slog: %w", err)
	}
	ctx := context.Background()
	if !s.h.Enabled(ctx, level) {
		return len(p), nil
	}
	r := slog.NewRecord(s.now(), level, msg, 0)
	r.AddAttrs(attrs...)
	if err := s.h.Handle(ctx, r); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseLine reads one zerolog JSON line: its level, message and the other
// fields in their order.
func parseLine(p []byte) (slog.Level, string, []slog.Attr, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, "", nil, fmt.Errorf("not a JSON object")
	}
	level, msg := slog.LevelInfo, ""
	attrs := make([]slog.Attr, 0, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, "", nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, "", nil, err
		}
		switch key {
		case zerolog.LevelFieldName:
			var s string
			_ = json.Unmarshal(raw, &s)
			level = slogLevel(s)
			continue
		case zerolog.MessageFieldName:
			_ = json.Unmarshal(raw, &msg)
			continue
		case zerolog.TimestampFieldName:
			continue // the record's time
		}
		attrs = append(attrs, slog.Attr{Key: key, Value: slogValue(raw)})
	}
	return level, msg, attrs, nil
}

func slogLevel(s string) slog.Level {
	switch l, _ := zerolog.ParseLevel(s); l {
	case zerolog.TraceLevel:
		return slog.LevelDebug - 4
	case zerolog.DebugLevel:
		return slog.LevelDebug
	case zerolog.WarnLevel:
		return slog.LevelWarn
	case zerolog.ErrorLevel:
		return slog.LevelError
	case zerolog.FatalLevel, zerolog.PanicLevel:
		return slog.LevelError + 4
	}
	return slog.LevelInfo
}

// slogValue is a JSON value as a slog value of its JSON type.
func slogValue(raw json.RawMessage) slog.Value {
	switch c := firstByte(raw); {
	case c == '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return slog.StringValue(s)
	case c == 't' || c == 'f':
		return slog.BoolValue(c == 't')
	case c == '-' || c >= '0' && c <= '9':
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return slog.Int64Value(n)
		}
		f, _ := strconv.ParseFloat(string(raw), 64)
		return slog.Float64Value(f)
	case c == 'n':
		return slog.AnyValue(nil)
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	return slog.AnyValue(v)
}

func firstByte(raw []byte) byte {
	for _, c := range raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}
