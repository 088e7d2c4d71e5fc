package permanent

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

var errSentinel = errors.New("sentinel")

func TestErrorfIsNonRetryableOfItsKindAndKeepsWhatItWraps(t *testing.T) {
	err := Errorf(BadInput, "import source %s: %w", "x.json", errSentinel)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, "BadInput", appErr.Type())
	assert.Equal(t, "import source x.json: sentinel", appErr.Message())
	assert.ErrorIs(t, err, errSentinel)
	assert.True(t, Is(err, BadInput))
	assert.False(t, Is(err, BadConfig))
	assert.False(t, Is(errSentinel, BadInput))
	assert.False(t, Is(temporal.NewApplicationError("retry me", string(BadInput)), BadInput), "a retryable error is not permanent")
}

// TestIsSeesTheKindThroughTemporal checks the kind after the error crossed an activity and a
// workflow that wrapped it with context.
func TestIsSeesTheKindThroughTemporal(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	fail := func() error { return Errorf(BadConfig, "DUMP_URL: %w", errSentinel) }
	env.RegisterActivityWithOptions(fail, activity.RegisterOptions{Name: "Fail"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		if err := workflow.ExecuteActivity(ctx, "Fail").Get(ctx, nil); err != nil {
			return fmt.Errorf("open the store: %w", err)
		}
		return nil
	}, workflow.RegisterOptions{Name: "Wrap"})
	env.ExecuteWorkflow("Wrap")
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.True(t, Is(err, BadConfig), "%v", err)
	assert.False(t, Is(err, BadInput))
}

func TestExpectedIsBenignAndKeepsKindMessageAndCause(t *testing.T) {
	err := Expected(Errorf(BadInput, "revision 3 of Q42: %w", errSentinel), BadInput)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, appErr.Category())
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, "revision 3 of Q42: sentinel", appErr.Message())
	assert.True(t, Is(err, BadInput))
	assert.ErrorIs(t, err, errSentinel)

	config := Errorf(BadConfig, "WIKIBASE_CONFIG: %w", errSentinel)
	assert.Same(t, config, Expected(config, BadInput), "another kind stays a failure")
	assert.NoError(t, Expected(nil, BadInput))
}
