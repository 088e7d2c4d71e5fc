package events

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2026, 1, 1, 12, 0, 0, 123456000, time.UTC)
	whole := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-01-01T12:00:00Z", whole},
		{"2026-01-01T12:00:00.123456Z", want},
		{"2026-01-01T12:00:00.123456+00:00", want},
		{"2026-01-01T12:00:00.123456+00:00Z", want},
		{"2026-01-01T13:00:00.123456+01:00Z", want},
		{"2026-01-01T07:00:00-05:00", whole},
		{"2026-01-01T12:00:00.123456", want},
		{"2026-01-01T12:00:00", whole},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimestamp(tt.in)
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s", got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestParseTimestampRejects(t *testing.T) {
	for _, in := range []string{"", "yesterday", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T12:00:00ZZ", "1700000000"} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseTimestamp(in)
			require.Error(t, err)
		})
	}
}

func TestParseEntityChangeForms(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name string
		in   string
		want EntityChange
	}{
		{
			name: "canonical",
			in: `{"entity_id":"Q42","revision_id":12345,"from_revision_id":12344,"change_type":"edit",
				"changed_at":"2026-01-01T12:00:00.123456Z","user_id":123,"edit_summary":"Updated description",
				"changed_properties":["P31","P17"]}`,
			want: EntityChange{EntityID: "Q42", RevisionID: 12345, FromRevisionID: 12344, ChangeType: ChangeEdit,
				ChangedAt: at, UserID: 123, EditSummary: "Updated description", ChangedProperties: []string{"P31", "P17"}},
		},
		{
			name: "declared schema example without user",
			in:   `{"entity_id":"Q42","revision_id":12345,"change_type":"edit","from_revision_id":12344,"changed_at":"2023-01-01T12:00:00Z","edit_summary":"Updated description"}`,
			want: EntityChange{EntityID: "Q42", RevisionID: 12345, FromRevisionID: 12344, ChangeType: ChangeEdit,
				ChangedAt: time.Date(2023, 1, 1, 12, 0, 0, 0, time.UTC), EditSummary: "Updated description"},
		},
		{
			name: "original wire format with malformed offset",
			in:   `{"id": "Q42", "rev": 12345, "type": "edit", "from_rev": 12344, "at": "2026-01-01T12:00:00.123456+00:00Z", "user": "123", "summary": "Updated description"}`,
			want: EntityChange{EntityID: "Q42", RevisionID: 12345, FromRevisionID: 12344, ChangeType: ChangeEdit,
				ChangedAt: at, UserID: 123, EditSummary: "Updated description"},
		},
		{
			name: "original creation: from_rev null, naive time, no summary",
			in:   `{"id":"P1000001","rev":1,"type":"creation","from_rev":null,"at":"2026-01-01T12:00:00.123456Z","user":"7"}`,
			want: EntityChange{EntityID: "P1000001", RevisionID: 1, ChangeType: ChangeCreation, ChangedAt: at, UserID: 7},
		},
		{
			name: "short form with numeric user and naive time without zone",
			in:   `{"id":"L5000000","rev":3,"type":"lock","at":"2026-01-01T12:00:00.123456","user":9}`,
			want: EntityChange{EntityID: "L5000000", RevisionID: 3, ChangeType: ChangeLock, ChangedAt: at, UserID: 9},
		},
		{
			name: "both forms that agree, unknown fields ignored",
			in: `{"entity_id":"E1","id":"E1","revision_id":2,"rev":2,"change_type":"revert","type":"revert",
				"changed_at":"2026-01-01T12:00:00.123456Z","at":"2026-01-01T12:00:00.123456+00:00Z",
				"user_id":5,"user":"5","extra":{"x":[1,2]}}`,
			want: EntityChange{EntityID: "E1", RevisionID: 2, ChangeType: ChangeRevert, ChangedAt: at, UserID: 5},
		},
		{
			name: "empty user string means no user",
			in:   `{"id":"Q1","rev":1,"type":"creation","at":"2026-01-01T12:00:00.123456Z","user":""}`,
			want: EntityChange{EntityID: "Q1", RevisionID: 1, ChangeType: ChangeCreation, ChangedAt: at},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEntityChange([]byte(tt.in))
			require.NoError(t, err)
			assert.True(t, tt.want.ChangedAt.Equal(got.ChangedAt), "changed_at %s", got.ChangedAt)
			got.ChangedAt, tt.want.ChangedAt = time.Time{}, time.Time{}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseEntityChangeAllChangeTypes(t *testing.T) {
	require.Len(t, ChangeTypes, 16)
	for _, ct := range ChangeTypes {
		t.Run(string(ct), func(t *testing.T) {
			got, err := ParseEntityChange([]byte(`{"id":"Q1","rev":2,"from_rev":1,"type":"` + string(ct) + `","at":"2026-01-01T00:00:00Z","user":"1"}`))
			require.NoError(t, err)
			assert.Equal(t, ct, got.ChangeType)
		})
	}
}

func TestParseEntityChangeErrors(t *testing.T) {
	const at = `"changed_at":"2026-01-01T12:00:00Z"`
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"not json", `{"entity_id":`, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"null", `null`, "null"},
		{"trailing data", `{"entity_id":"Q1"} {}`, "trailing data"},
		{"missing entity id", `{"revision_id":1,"change_type":"edit",` + at + `}`, "entity_id"},
		{"sub-id is not an entity id", `{"entity_id":"L1-F1","revision_id":1,"change_type":"edit",` + at + `}`, "entity_id"},
		{"leading zero", `{"entity_id":"Q01","revision_id":1,"change_type":"edit",` + at + `}`, "entity_id"},
		{"lower case", `{"entity_id":"q1","revision_id":1,"change_type":"edit",` + at + `}`, "entity_id"},
		{"entity id number", `{"entity_id":42,"revision_id":1,"change_type":"edit",` + at + `}`, "entity_id: want a string"},
		{"revision zero", `{"entity_id":"Q1","revision_id":0,"change_type":"edit",` + at + `}`, "revision_id 0"},
		{"revision missing", `{"entity_id":"Q1","change_type":"edit",` + at + `}`, "revision_id"},
		{"revision fraction", `{"entity_id":"Q1","revision_id":1.5,"change_type":"edit",` + at + `}`, "revision_id: want an integer"},
		{"revision string", `{"id":"Q1","rev":"2","type":"edit","at":"2026-01-01T12:00:00Z"}`, "rev: want an integer"},
		{"from revision negative", `{"entity_id":"Q1","revision_id":3,"from_revision_id":-1,"change_type":"edit",` + at + `}`, "from_revision_id -1"},
		{"from revision not before", `{"entity_id":"Q1","revision_id":3,"from_revision_id":3,"change_type":"edit",` + at + `}`, "from_revision_id 3: must be less than revision_id 3"},
		{"unknown change type", `{"entity_id":"Q1","revision_id":1,"change_type":"delete",` + at + `}`, `change_type "delete"`},
		{"missing change type", `{"entity_id":"Q1","revision_id":1,` + at + `}`, "change_type"},
		{"missing changed_at", `{"entity_id":"Q1","revision_id":1,"change_type":"edit"}`, "changed_at: missing"},
		{"bad changed_at", `{"entity_id":"Q1","revision_id":1,"change_type":"edit","changed_at":"soon"}`, "changed_at: timestamp"},
		{"bad at", `{"id":"Q1","rev":1,"type":"edit","at":"soon"}`, "at: timestamp"},
		{"year zero in UTC", `{"entity_id":"Q1","revision_id":1,"change_type":"edit","changed_at":"0001-01-01T00:30:00+01:00"}`, "changed_at"},
		{"bad property", `{"entity_id":"Q1","revision_id":1,"change_type":"edit",` + at + `,"changed_properties":["Q5"]}`, `changed_properties[0] "Q5"`},
		{"properties not an array", `{"entity_id":"Q1","revision_id":1,"change_type":"edit",` + at + `,"changed_properties":"P31"}`, "changed_properties"},
		{"user not numeric", `{"id":"Q1","rev":1,"type":"edit","at":"2026-01-01T12:00:00Z","user":"system"}`, "user: want a user id"},
		{"user negative", `{"id":"Q1","rev":1,"type":"edit","at":"2026-01-01T12:00:00Z","user":-4}`, "user_id -4"},
		{"mixed forms", `{"entity_id":"Q1","rev":1,"change_type":"edit",` + at + `}`, "mixes canonical fields (entity_id, change_type, changed_at) with short-form fields (rev)"},
		{"forms disagree", `{"entity_id":"Q1","id":"Q2","revision_id":1,"rev":1,"change_type":"edit","type":"edit",` + at + `,"at":"2026-01-01T12:00:00Z"}`, "entity_id and id disagree"},
		{"times disagree", `{"entity_id":"Q1","id":"Q1",` + at + `,"at":"2026-01-01T12:00:01Z"}`, "changed_at and at disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEntityChange([]byte(tt.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestEntityChangeMarshalIsCanonical(t *testing.T) {
	in := `{"id":"Q42","rev":12345,"type":"edit","from_rev":12344,"at":"2026-01-01T13:00:00.5+01:00Z","user":"123","summary":"x <y>"}`
	c, err := ParseEntityChange([]byte(in))
	require.NoError(t, err)
	out, err := c.Marshal()
	require.NoError(t, err)
	assert.JSONEq(t, `{"entity_id":"Q42","revision_id":12345,"from_revision_id":12344,"change_type":"edit",
		"changed_at":"2026-01-01T12:00:00.5Z","user_id":123,"edit_summary":"x <y>","changed_properties":[]}`, string(out))

	again, err := ParseEntityChange(out)
	require.NoError(t, err)
	assert.True(t, c.ChangedAt.Equal(again.ChangedAt))
	again.ChangedAt, c.ChangedAt = time.Time{}, time.Time{}
	c.ChangedProperties = []string{}
	assert.Equal(t, c, again)
}

func TestEntityChangeMarshalValidates(t *testing.T) {
	_, err := EntityChange{EntityID: "Q1", RevisionID: 1, ChangeType: "bogus", ChangedAt: time.Now()}.Marshal()
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "marshal entity_change: change_type"), err.Error())
}

func FuzzParseEntityChange(f *testing.F) {
	seeds := []string{
		`{"id": "Q42", "rev": 12345, "type": "edit", "from_rev": 12344, "at": "2026-01-01T12:00:00.123456+00:00Z", "user": "123", "summary": "Updated description"}`,
		`{"entity_id":"Q42","revision_id":12345,"from_revision_id":12344,"change_type":"edit","changed_at":"2026-01-01T12:00:00Z","user_id":1,"edit_summary":"","changed_properties":["P31"]}`,
		`{"id":"P1","rev":1,"type":"creation","from_rev":null,"at":"2026-01-01T12:00:00.123456","user":7}`,
		`{"entity_id":"E1","id":"E1","revision_id":2,"rev":2}`,
		`null`, `[]`, `{}`, `{"at":"0000-01-01T00:00:00+00:00Z"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseEntityChange(data)
		if err != nil {
			return
		}
		// Anything accepted must survive a canonical round trip unchanged.
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", data, err)
		}
		again, err := ParseEntityChange(out)
		if err != nil {
			t.Fatalf("canonical output %s does not parse: %v", out, err)
		}
		if !again.ChangedAt.Equal(c.ChangedAt) || again.EntityID != c.EntityID || again.RevisionID != c.RevisionID ||
			again.FromRevisionID != c.FromRevisionID || again.ChangeType != c.ChangeType ||
			again.UserID != c.UserID || again.EditSummary != c.EditSummary ||
			len(again.ChangedProperties) != len(c.ChangedProperties) {
			t.Fatalf("round trip changed the event: %+v -> %+v", c, again)
		}
	})
}
