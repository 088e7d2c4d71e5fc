package watchlist

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
)

func TestRecipients(t *testing.T) {
	edit := events.EntityChange{EntityID: "Q1", RevisionID: 2, UserID: 5}
	watches := []Watch{
		{UserID: 1, Enabled: true},                              // whole entity
		{UserID: 2, Properties: []string{"P31"}, Enabled: true}, // property
		{UserID: 2, Enabled: true},                              // same user, whole entity too
		{UserID: 3, Properties: []string{"P17", "P18"}, Enabled: true},
		{UserID: 4, Enabled: false}, // watchlist disabled
		{UserID: 5, Enabled: true},  // the editor
	}
	tests := []struct {
		name       string
		change     events.EntityChange
		changed    []string
		notifySelf bool
		want       []int64
	}{
		{"P31 changed", edit, []string{"P31"}, false, []int64{1, 2}},
		{"P18 changed", edit, []string{"P5", "P18"}, false, []int64{1, 2, 3}},
		{"nothing changed", edit, []string{}, false, []int64{1, 2}},
		{"unknown changes fire property watches", edit, nil, false, []int64{1, 2, 3}},
		{"self edits on request", edit, []string{}, true, []int64{1, 2, 5}},
		{"anonymous editor excludes nobody", events.EntityChange{EntityID: "Q1", RevisionID: 2}, []string{}, false, []int64{1, 2, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Recipients(tt.change, tt.changed, watches, tt.notifySelf))
		})
	}
}

func TestCheckStorableRejectsTimesANotificationCannotHold(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		fits bool
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		err := CheckStorable(events.EntityChange{EntityID: "Q1", RevisionID: 2, ChangeType: events.ChangeEdit, ChangedAt: tc.at})
		if tc.fits {
			require.NoError(t, err, tc.at)
			continue
		}
		require.ErrorContains(t, err, "outside the range", tc.at)
	}
}

func TestFormatWatchedProperties(t *testing.T) {
	require.Equal(t, "P17,P31", FormatWatchedProperties([]string{"P31", "P17", "P31"}))
	require.Equal(t, "", FormatWatchedProperties(nil))
	require.Nil(t, ParseWatchedProperties(""))
	require.Equal(t, []string{"P17", "P31"}, ParseWatchedProperties("P17,P31"))
}
