package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// upstream is a second 360X service that fails with an internal error.
func upstream(t *testing.T, logs *apierrortest.LogCapture) *httptest.Server {
	srv := httptest.NewServer(middleware.Errors(middleware.WithLogger(logs.Logger()))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			switch r.URL.Path {
			case "/ok":
				_, _ = io.WriteString(w, "fine")
				return nil
			}
			return apierror.Internal(errors.New("db: disk full"))
		})))
	t.Cleanup(srv.Close)
	return srv
}

func TestTransportChainsIDsAndReadsEnvelopes(t *testing.T) {
	upLogs, logs := apierrortest.NewLogCapture(), apierrortest.NewLogCapture()
	up := upstream(t, upLogs)
	client := apiclient.NewClient(nil)

	caller := httptest.NewServer(middleware.Errors(middleware.WithLogger(logs.Logger()))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, up.URL+"/prices/7", nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return apierror.BadGateway(err)
			}
			resp.Body.Close()
			return nil
		})))
	t.Cleanup(caller.Close)

	resp, err := http.Get(caller.URL + "/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusBadGateway)

	callerLines := logs.ErrorLines(env.ID)
	require.Len(t, callerLines, 1)
	upID, _ := callerLines[0]["upstream_id"].(string)
	require.NotEmpty(t, upID, "the caller's line names the upstream id: %v", callerLines[0])
	assert.EqualValues(t, 500, callerLines[0]["upstream_status"])
	assert.Equal(t, "/prices/7", callerLines[0]["upstream_path"])

	upLines := upLogs.ErrorLines(upID)
	require.Len(t, upLines, 1)
	assert.Equal(t, env.ID, upLines[0]["client_request_id"], "the upstream logs the caller's id")
	assert.Equal(t, "db: disk full", upLines[0]["cause"])
}

func TestTransportErrorIsAnAPIError(t *testing.T) {
	up := upstream(t, apierrortest.NewLogCapture())
	resp, err := apiclient.NewClient(nil).Get(up.URL + "/fail")
	require.Error(t, err)
	assert.Nil(t, resp)
	var e *apierror.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 500, e.Status)
	require.NotNil(t, e.Received)
	assert.Len(t, e.Received.ID, 36)
}

func TestTransportHandsOnWhatIsNotAnEnvelope(t *testing.T) {
	// A server without the middleware: a proxy's HTML page, another API's
	// JSON error.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>proxy error</html>")
		case "/json-not-envelope":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"errors":["x"]}`)
		default:
			_, _ = io.WriteString(w, "fine")
		}
	}))
	t.Cleanup(up.Close)
	client := apiclient.NewClient(nil)
	for path, want := range map[string]string{"/ok": "fine", "/html": "<html>proxy error</html>", "/json-not-envelope": `{"errors":["x"]}`} {
		resp, err := client.Get(up.URL + path)
		require.NoError(t, err, path)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, want, string(body), "the body is handed on whole")
	}
}

func TestTransportDoesNotChangeTheCallersRequest(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("X-Request-Id") }))
	t.Cleanup(srv.Close)
	req := httptest.NewRequest(http.MethodGet, srv.URL, nil)
	req.RequestURI = ""
	req = req.WithContext(apierror.WithID(req.Context(), "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"))
	resp, err := apiclient.NewClient(nil).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b", got)
	assert.Empty(t, req.Header.Get("X-Request-Id"))
	assert.False(t, strings.Contains(req.Header.Get("X-Request-Id"), "0196"))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
func (brokenBody) Close() error             { return nil }

func TestTransportBodyReadFailure(t *testing.T) {
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 502, Header: http.Header{"Content-Type": {"application/json"}}, Body: brokenBody{}, Request: r}, nil
	})
	resp, err := apiclient.NewClient(base).Get("http://upstream.invalid/x")
	assert.Nil(t, resp)
	require.ErrorIs(t, err, apierror.ErrNotEnvelope)
	var re *apierror.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 502, re.StatusCode, "the status is kept")
}

// TestTraceContextGoesAlong: with a span in the context, the call carries
// traceparent (W3C Trace Context); without one, none.
func TestTraceContextGoesAlong(t *testing.T) {
	got := make(chan http.Header, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer srv.Close()
	client := apiclient.NewClient(nil)

	span := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(apierror.WithID(context.Background(), "01a214c6-2418-7f54-a830-e1974d0ae3f0"), span)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	h := <-got
	assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", h.Get("Traceparent"))
	assert.Equal(t, "01a214c6-2418-7f54-a830-e1974d0ae3f0", h.Get("X-Request-Id"))
	assert.Empty(t, req.Header.Get("Traceparent"), "the caller's request is not changed")

	req, _ = http.NewRequestWithContext(context.Background(), "GET", srv.URL, nil)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, (<-got).Get("Traceparent"))
}
