// Package logging builds the one zap logger of a process and adapts it to the Temporal SDK's
// logger interface, so SDK, worker and activity logs share one format, one sink and one
// vocabulary of fields (workflow_id, run_id, activity_id, activity_type, workflow_type, error).
//
// A log line is one line: an error is logged as its message, and zap adds no stack trace
// below DPanic. Expected outcomes (a dead letter, a skipped revision) are logged at info or
// debug; a stack trace comes only with a bug: a panic, which the SDK logs with its stack.
package logging

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New builds a logger at level (debug, info, warn, error) writing format (console or json) to stderr.
func New(level, format string) (*zap.Logger, error) {
	return NewTo(os.Stderr, level, format)
}

// NewTo is New writing to w.
func NewTo(w io.Writer, level, format string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	switch format {
	case "json":
		encoder = zapcore.NewJSONEncoder(enc)
	case "console":
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	default:
		return nil, fmt.Errorf("log format %q: want console or json", format)
	}
	core := zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), lvl)
	// Error is an outcome (a job failed, a server is down), not a bug: the stack of the
	// logging call would be the same few frames of the SDK or of a retry loop every time.
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.DPanicLevel), zap.ErrorOutput(zapcore.Lock(os.Stderr))), nil
}

// Temporal adapts a zap logger to go.temporal.io/sdk/log.Logger.
func Temporal(z *zap.Logger) log.Logger {
	return &temporalLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

type temporalLogger struct{ z *zap.Logger }

var (
	_ log.Logger          = (*temporalLogger)(nil)
	_ log.WithLogger      = (*temporalLogger)(nil)
	_ log.WithSkipCallers = (*temporalLogger)(nil)
)

func (l *temporalLogger) Debug(msg string, kv ...any) { l.z.Debug(msg, fields(kv)...) }
func (l *temporalLogger) Info(msg string, kv ...any)  { l.z.Info(msg, fields(kv)...) }
func (l *temporalLogger) Warn(msg string, kv ...any)  { l.z.Warn(msg, fields(kv)...) }
func (l *temporalLogger) Error(msg string, kv ...any) { l.z.Error(msg, fields(kv)...) }

func (l *temporalLogger) With(kv ...any) log.Logger {
	return &temporalLogger{z: l.z.With(fields(kv)...)}
}

func (l *temporalLogger) WithCallerSkip(depth int) log.Logger {
	return &temporalLogger{z: l.z.WithOptions(zap.AddCallerSkip(depth))}
}

// fields turns alternating keys and values into zap fields: the SDK's keys (WorkflowID,
// ActivityType) in the snake case of the project's own fields (workflow_id, activity_type),
// errors as their message; a dangling key keeps its place.
func fields(kv []any) []zap.Field {
	out := make([]zap.Field, 0, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = fmt.Sprint(kv[i])
		}
		key = snakeCase(key)
		if i+1 == len(kv) {
			out = append(out, zap.Any(key, nil))
			break
		}
		out = append(out, field(key, kv[i+1]))
	}
	return out
}

// field is one key and value; an error is its message only (zap.Any would add an
// "errorVerbose" with whatever the error's %+v prints, stacks included).
func field(key string, v any) zap.Field {
	if err, ok := v.(error); ok && err != nil {
		return zap.String(key, err.Error())
	}
	return zap.Any(key, v)
}

// snakeCase turns WorkflowID into workflow_id and LostAtID into lost_at_id; snake_case keys
// stay as they are.
func snakeCase(s string) string {
	var b strings.Builder
	runes := []rune(s)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]))
			acronymEnd := i > 0 && unicode.IsUpper(runes[i-1]) && i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ForActivity is base with the fields that say which activity of which run logs: what the
// SDK's own activity logger carries, for activity code that logs with zap.
func ForActivity(ctx context.Context, base *zap.Logger) *zap.Logger {
	if !activity.IsActivity(ctx) {
		return base
	}
	info := activity.GetInfo(ctx)
	var workflowType string
	if info.WorkflowType != nil {
		workflowType = info.WorkflowType.Name
	}
	return base.With(
		zap.String("workflow_id", info.WorkflowExecution.ID), zap.String("run_id", info.WorkflowExecution.RunID),
		zap.String("workflow_type", workflowType), zap.String("activity_id", info.ActivityID),
		zap.String("activity_type", info.ActivityType.Name), zap.Int32("attempt", info.Attempt),
	)
}
