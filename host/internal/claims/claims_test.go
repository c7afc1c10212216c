package claims

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "catalog.entity.read", true},
		{"*", "", true},
		{"catalog.*", "catalog.entity.read", true},
		{"catalog.*", "catalog.", true},
		{"catalog.*", "catalog", false},
		{"catalog.*", "Catalog.entity.read", false},
		{"catalog.entity.read", "catalog.entity.read", true},
		{"catalog.entity.read", "catalog.entity.reads", false},
		{"*.read", "catalog.entity.read", true},
		{"*.read", "catalog.entity.delete", false},
		{"catalog.*.read", "catalog.entity.read", true},
		{"catalog.*.read", "catalog.a.b.read", true},
		{"catalog.*.read", "catalog.read", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"**", "x", true},
		{"x", "", false},
		{"", "", true},
		{"catalog.entity.?", "catalog.entity.r", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"|"+tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Match(tt.pattern, tt.name))
		})
	}
}

func TestSet(t *testing.T) {
	s, err := Compile([]string{"catalog.*", "scaffolder.action.execute"})
	require.NoError(t, err)
	require.True(t, s.Match("catalog.entity.read"))
	require.True(t, s.Match("scaffolder.action.execute"))
	require.False(t, s.Match("scaffolder.task.read"))
	require.Equal(t, []string{"catalog.*", "scaffolder.action.execute"}, s.Patterns())

	var none Set
	require.False(t, none.Match("catalog.entity.read"), "the zero Set claims nothing")

	_, err = Compile([]string{"ok", ""})
	require.ErrorContains(t, err, "claim 1 is empty")
}
