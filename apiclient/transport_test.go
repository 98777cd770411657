package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// upstream is a second 360X service: /ok answers, /slow takes a second,
// /busy is a 503 with Retry-After, anything else an internal error.
func upstream(t *testing.T, logs *apierrortest.LogCapture) *httptest.Server {
	srv := httptest.NewServer(middleware.Errors(middleware.WithLogger(logs.Logger()))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			switch r.URL.Path {
			case "/ok":
				_, _ = io.WriteString(w, "fine")
				return nil
			case "/slow":
				select {
				case <-time.After(time.Second):
				case <-r.Context().Done():
				}
				return nil
			case "/busy":
				return apierror.ServiceUnavailable(errors.New("draining")).WithRetryAfter(12 * time.Second)
			}
			return apierror.Internal(errors.New("db: disk full"))
		})))
	t.Cleanup(srv.Close)
	return srv
}

// caller is a 360X service whose handler calls path on up and answers with
// apiclient.Failure.
func caller(t *testing.T, logs *apierrortest.LogCapture, client *http.Client, url string) *httptest.Server {
	srv := httptest.NewServer(middleware.Errors(middleware.WithLogger(logs.Logger()))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			ctx, cancel := context.WithTimeout(r.Context(), 200*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if e := apiclient.Failure("pricing", resp, err); e != nil {
				return e
			}
			defer resp.Body.Close()
			_, err = io.Copy(w, resp.Body)
			return err
		})))
	t.Cleanup(srv.Close)
	return srv
}

// errorLines waits for the error line of id: a service writes it just
// after the client has the envelope.
func errorLines(t *testing.T, logs *apierrortest.LogCapture, id string) []map[string]any {
	t.Helper()
	require.Eventually(t, func() bool { return len(logs.ErrorLines(id)) > 0 }, 2*time.Second, 2*time.Millisecond)
	return logs.ErrorLines(id)
}

// TestFailureChainsIDs: an upstream's envelope becomes this service's
// 502, and each service's line names the other's id.
func TestFailureChainsIDs(t *testing.T) {
	upLogs, logs := apierrortest.NewLogCapture(), apierrortest.NewLogCapture()
	up := upstream(t, upLogs)
	srv := caller(t, logs, apiclient.NewClient(nil), up.URL+"/prices/7")

	resp, err := http.Get(srv.URL + "/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusBadGateway)

	callerLines := errorLines(t, logs, env.ID)
	require.Len(t, callerLines, 1)
	upID, _ := callerLines[0]["upstream_id"].(string)
	require.NotEmpty(t, upID, "the caller's line names the upstream id: %v", callerLines[0])
	assert.EqualValues(t, 500, callerLines[0]["upstream_status"])
	assert.Equal(t, "/prices/7", callerLines[0]["upstream_path"])
	assert.Contains(t, callerLines[0]["cause"], "pricing answered 500")

	upLines := errorLines(t, upLogs, upID)
	require.Len(t, upLines, 1)
	assert.Equal(t, env.ID, upLines[0]["client_request_id"], "the upstream logs the caller's id")
	assert.Equal(t, "db: disk full", upLines[0]["cause"])
}

// TestFailureMapsEveryFailure: one call, every way it can fail.
func TestFailureMapsEveryFailure(t *testing.T) {
	up := upstream(t, apierrortest.NewLogCapture())
	refused := func() string { // a port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		return "http://" + addr
	}()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	}))
	t.Cleanup(proxy.Close)
	for _, tc := range []struct {
		name, url  string
		status     int
		retryAfter string
	}{
		{"success", up.URL + "/ok", 200, ""},
		{"an envelope", up.URL + "/prices/7", 502, ""},
		{"a 503 that says when to retry", up.URL + "/busy", 503, "12"},
		{"a proxy's HTML page", proxy.URL, 502, ""},
		{"too slow", up.URL + "/slow", 504, ""},
		{"refused", refused, 503, ""},
		{"no such host", "http://no-such-host.invalid", 503, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := apierrortest.NewLogCapture()
			srv := caller(t, logs, apiclient.NewClient(nil), tc.url)
			resp, err := http.Get(srv.URL)
			require.NoError(t, err)
			if tc.status == 200 {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, "fine", string(body))
				return
			}
			env := apierrortest.AssertEnvelope(t, resp, tc.status)
			assert.Equal(t, tc.retryAfter, resp.Header.Get("Retry-After"))
			lines := errorLines(t, logs, env.ID)
			require.Len(t, lines, 1)
			assert.Contains(t, lines[0]["cause"], "pricing")
		})
	}
}

// TestFailureOfACanceledCall: the caller's client went away, so the call
// was canceled: one info line with status 499, not a 503.
func TestFailureOfACanceledCall(t *testing.T) {
	up := upstream(t, apierrortest.NewLogCapture())
	logs := apierrortest.NewLogCapture()
	srv := caller(t, logs, apiclient.NewClient(nil), up.URL+"/slow")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err := http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return len(logs.Lines()) == 1 }, 2*time.Second, 5*time.Millisecond)
	l := logs.Lines()[0]
	assert.Equal(t, "info", l["level"])
	assert.EqualValues(t, 499, l["status"])
}

// TestTransportKeepsTheRoundTripperContract: every response is returned
// as it came, error statuses included, and the caller's request is not
// changed.
func TestTransportKeepsTheRoundTripperContract(t *testing.T) {
	up := upstream(t, apierrortest.NewLogCapture())
	client := apiclient.NewClient(nil)
	resp, err := client.Get(up.URL + "/prices/7")
	require.NoError(t, err, "an error status is a response, not an error")
	defer resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(body), `"statusCode":500`, "the body unread, whole")

	var got *http.Request
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
	})
	h := middleware.Errors()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", "http://pricing/x", nil)
		resp, err := (&apiclient.Transport{Base: base}).RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Empty(t, req.Header.Get("X-Request-Id"), "the caller's request is not changed")
		assert.Equal(t, middleware.ID(r.Context()), got.Header.Get("X-Request-Id"))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.NotNil(t, got)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTraceContextGoesAlong: with a span in the context, the call carries
// traceparent (W3C Trace Context); a request's own traceparent is kept;
// without a span, none.
func TestTraceContextGoesAlong(t *testing.T) {
	got := make(chan http.Header, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer srv.Close()
	client := apiclient.NewClient(nil)

	span := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), span)
	call := func(ctx context.Context, own string) http.Header {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if own != "" {
			req.Header.Set("Traceparent", own)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, own, req.Header.Get("Traceparent"), "the caller's request is not changed")
		return <-got
	}
	assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", call(ctx, "").Get("Traceparent"))
	own := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	assert.Equal(t, own, call(ctx, own).Get("Traceparent"))
	assert.Empty(t, call(context.Background(), "").Get("Traceparent"))
}

// TestFailureWithoutResponseOrError: a nil response and a nil error (a
// broken RoundTripper) is still an answer.
func TestFailureWithoutResponseOrError(t *testing.T) {
	e := apierror.From(apiclient.Failure("pricing", nil, nil))
	require.NotNil(t, e)
	assert.Equal(t, 502, e.Status)
	assert.True(t, strings.Contains(e.Error(), "pricing"))
}

// TestOutsideFindings: what an outside try of the client found.
func TestOutsideFindings(t *testing.T) {
	t.Run("a request without a header map is refused, not a panic", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:1/", nil)
		req.Header = nil
		assert.NotPanics(t, func() { _, _ = (&apiclient.Transport{}).RoundTrip(req) })
	})
	t.Run("a response without a body", func(t *testing.T) {
		e := apierror.From(apiclient.Failure("pricing", &http.Response{StatusCode: 500, Header: http.Header{}}, nil))
		require.NotNil(t, e)
		assert.Equal(t, 502, e.Status)
	})
	t.Run("a load balancer's 503 stays a 503 with its Retry-After", func(t *testing.T) {
		resp := &http.Response{StatusCode: 503, Header: http.Header{"Content-Type": {"text/html"}, "Retry-After": {"5"}},
			Body: io.NopCloser(strings.NewReader("<html>busy</html>"))}
		e := apierror.From(apiclient.Failure("pricing", resp, nil))
		require.NotNil(t, e)
		assert.Equal(t, 503, e.Status)
		assert.Equal(t, "5", e.Header.Get("Retry-After"))
	})
}
