package apierror_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
)

func maxBytesError(t *testing.T) error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 100)))
	body := http.MaxBytesReader(httptest.NewRecorder(), req.Body, 10)
	_, err := io.ReadAll(body)
	require.Error(t, err)
	return err
}

func TestFrom(t *testing.T) {
	notFound := apierror.NotFound("offer 7 not found")
	plain := errors.New("disk on fire")
	tests := []struct {
		name   string
		err    error
		status int
		same   *apierror.Error // when the *Error in the chain must be returned as is
		cause  bool            // the original error is kept as the cause
	}{
		{"Error", notFound, 404, notFound, false},
		{"wrapped Error", fmt.Errorf("load: %w", notFound), 404, notFound, false},
		{"joined Error", errors.Join(plain, notFound), 404, notFound, false},
		{"deadline", context.DeadlineExceeded, 504, nil, true},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, nil, true},
		{"max bytes", maxBytesError(t), 413, nil, true},
		{"wrapped max bytes", fmt.Errorf("decode: %w", maxBytesError(t)), 413, nil, true},
		{"canceled", context.Canceled, 499, nil, true},
		{"deadline beats canceled", errors.Join(context.Canceled, context.DeadlineExceeded), 504, nil, true},
		{"plain", plain, 500, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apierror.From(tt.err)
			require.NotNil(t, e)
			assert.Equal(t, tt.status, e.Status)
			if tt.same != nil {
				assert.Same(t, tt.same, e)
			}
			if tt.cause {
				assert.ErrorIs(t, e, tt.err, "the original error stays reachable as the cause")
			}
		})
	}
	assert.Nil(t, apierror.From(nil))
	assert.Contains(t, apierror.From(maxBytesError(t)).Detail, "10 bytes")
}
