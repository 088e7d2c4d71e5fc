// Package permanent is the one vocabulary of errors that no retry can fix. Activities and
// workflows return them as non-retryable Temporal application errors whose type is one of a
// few kinds, so a workflow, the CLI and the Web UI see what has to change before running
// again; everything else is retried.
package permanent

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Kind says what has to change before a retry can succeed; it is the application error's type.
type Kind string

// The kinds of permanent errors.
const (
	// BadInput is the request or the data it names: a truncated or corrupt file, an unknown
	// format or entity type, a malformed date, a revision that is not there.
	BadInput Kind = "BadInput"
	// BadConfig is the worker's settings or schema: an environment variable, WIKIBASE_CONFIG,
	// DUMP_URL, a missing id_ranges row.
	BadConfig Kind = "BadConfig"
)

// Errorf returns a non-retryable application error of kind whose message is
// fmt.Sprintf(format, args...). Errors wrapped with %w stay reachable by errors.Is and
// errors.As in the process that made it.
func Errorf(kind Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return temporal.NewNonRetryableApplicationError(err.Error(), string(kind), errors.Unwrap(err))
}

// Is reports whether err is, or wraps, a permanent error of kind: in the activity that
// returned it as well as in the workflow or client that received it through Temporal.
func Is(err error, kind Kind) bool {
	// Every application error of the chain is looked at: a workflow that wraps an activity's
	// error with context reaches a client as an application error around the activity's.
	for ; err != nil; err = errors.Unwrap(err) {
		if appErr, ok := err.(*temporal.ApplicationError); ok && appErr.NonRetryable() && appErr.Type() == string(kind) {
			return true
		}
	}
	return false
}

// Expected marks err, when it is a permanent error of kind, as an outcome its caller expects
// and handles (the entity diff skips a revision it cannot render): Temporal's benign category,
// which the SDK logs at debug instead of as a failed activity. Anything else is returned as it
// is.
func Expected(err error, kind Kind) error {
	appErr, ok := err.(*temporal.ApplicationError)
	if !ok || !appErr.NonRetryable() || appErr.Type() != string(kind) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable: true, Cause: appErr.Unwrap(), Category: temporal.ApplicationErrorCategoryBenign,
	})
}
