// Package logging builds the one zap logger of a process and adapts it to the Temporal SDK's
// logger interface, so SDK, worker and activity logs share one format and sink.
package logging

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New builds a logger at level (debug, info, warn, error) writing format (console or json) to stderr.
func New(level, format string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	switch format {
	case "json":
	case "console":
		cfg.Encoding = "console"
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
	default:
		return nil, fmt.Errorf("log format %q: want console or json", format)
	}
	return cfg.Build()
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

// fields turns alternating keys and values into zap fields; a dangling key keeps its place.
func fields(kv []any) []zap.Field {
	out := make([]zap.Field, 0, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = fmt.Sprint(kv[i])
		}
		if i+1 == len(kv) {
			out = append(out, zap.Any(key, nil))
			break
		}
		out = append(out, zap.Any(key, kv[i+1]))
	}
	return out
}
