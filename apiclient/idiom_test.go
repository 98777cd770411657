package apiclient_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/jsonbody"
	"github.com/360x/errkit/middleware"
)

// TestNaturalErrIdiom calls every function a handler calls to get an error
// in the natural form, err = f(...); if err != nil { return err }, over
// real servers: a success must reach the client as a success (not an empty
// 200 from a typed nil), and a failure as its envelope and one error line.
// With Failure returning *apierror.Error, the success cases sent 200 with
// no body and no line.
func TestNaturalErrIdiom(t *testing.T) {
	up := httptest.NewServer(middleware.Errors(middleware.WithLogger(apierrortest.NewLogCapture().Logger()))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if r.URL.Path == "/offers/7" {
				_, _ = io.WriteString(w, `{"price":7}`)
				return nil
			}
			return apierror.NotFound("No offer " + r.URL.Path + ".")
		})))
	t.Cleanup(up.Close)

	client := apiclient.NewClient(nil)
	call := func(r *http.Request) (*http.Response, error) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, up.URL+r.URL.Path, nil)
		require.NoError(t, err)
		return client.Do(req)
	}
	answer := func(w http.ResponseWriter, resp *http.Response) error {
		defer resp.Body.Close()
		_, err := io.Copy(w, resp.Body)
		return err
	}
	handlers := map[string]func(w http.ResponseWriter, r *http.Request) error{
		"Failure": func(w http.ResponseWriter, r *http.Request) error {
			resp, err := call(r)
			if err = apiclient.Failure("pricing", resp, err); err != nil {
				return err
			}
			return answer(w, resp)
		},
		"Forward(Failure)": func(w http.ResponseWriter, r *http.Request) error {
			resp, err := call(r)
			if err = apierror.Forward(apiclient.Failure("pricing", resp, err)); err != nil {
				return err
			}
			return answer(w, resp)
		},
		"jsonbody.Decode": func(w http.ResponseWriter, r *http.Request) error {
			var v struct {
				Price int `json:"price" jsonbody:"required"`
			}
			var err error
			if err = jsonbody.Decode(w, r, &v); err != nil {
				return err
			}
			return json.NewEncoder(w).Encode(v)
		},
	}
	for _, tc := range []struct {
		handler, method, path, body string
		status                      int
		want                        string // the success body
	}{
		{"Failure", "GET", "/offers/7", "", 200, `{"price":7}`},
		{"Failure", "GET", "/offers/8", "", 502, ""},
		{"Forward(Failure)", "GET", "/offers/7", "", 200, `{"price":7}`},
		{"Forward(Failure)", "GET", "/offers/8", "", 404, ""},
		{"jsonbody.Decode", "POST", "/", `{"price":3}`, 200, "{\"price\":3}\n"},
		{"jsonbody.Decode", "POST", "/", `{}`, 400, ""},
	} {
		t.Run(tc.handler+" "+tc.path+" "+tc.body, func(t *testing.T) {
			logs := apierrortest.NewLogCapture()
			srv := httptest.NewServer(middleware.Errors(middleware.WithLogger(logs.Logger()))(middleware.Handle(handlers[tc.handler])))
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			if tc.status != 200 {
				env := apierrortest.AssertEnvelope(t, resp, tc.status)
				assert.Len(t, errorLines(t, logs, env.ID), 1)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, tc.want, string(body), "a success answers with its body, not an empty 200")
		})
	}
}

// TestForwardPassesAnUpstream404On: apierror.Forward(apiclient.Failure(...))
// is the upstream's 404, with its detail, while Failure alone is a 502.
func TestForwardPassesAnUpstream404On(t *testing.T) {
	up := httptest.NewServer(middleware.Errors(middleware.WithLogger(apierrortest.NewLogCapture().Logger()))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return apierror.NotFound("No offer 8.")
		})))
	defer up.Close()
	resp, err := http.Get(up.URL + "/offers/8")
	require.NoError(t, err)
	e := apierror.From(apierror.Forward(apiclient.Failure("offers", resp, err)))
	assert.Equal(t, 404, e.Status)
	assert.Equal(t, "No offer 8.", e.Detail)
	assert.NotNil(t, upstreamOf(e), "the cause still names the upstream's answer")

	resp, err = http.Get(up.URL + "/offers/8")
	require.NoError(t, err)
	assert.Equal(t, 502, apierror.From(apiclient.Failure("offers", resp, err)).Status)
}

func upstreamOf(e *apierror.Error) *apierror.Envelope {
	for err := e.Cause; err != nil; {
		if u, ok := err.(*apierror.Error); ok && u.Received != nil { //nolint:errorlint // walking the chain
			return u.Received
		}
		w, ok := err.(interface{ Unwrap() error }) //nolint:errorlint // walking the chain
		if !ok {
			return nil
		}
		err = w.Unwrap()
	}
	return nil
}

// TestNewClientHasADeadline: a client of NewClient gives up on an upstream
// that does not answer, and the call is this service's 504.
func TestNewClientHasADeadline(t *testing.T) {
	assert.Equal(t, apiclient.DefaultTimeout, apiclient.NewClient(nil).Timeout)
	up := upstream(t, apierrortest.NewLogCapture()) // /slow takes a second
	client := apiclient.NewClient(nil)
	client.Timeout = 100 * time.Millisecond // DefaultTimeout, shortened for the test
	logs := apierrortest.NewLogCapture()
	srv := httptest.NewServer(middleware.Errors(middleware.WithLogger(logs.Logger()))(middleware.Handle(
		func(w http.ResponseWriter, r *http.Request) error {
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, up.URL+"/slow", nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req) // no deadline in the request's context
			if err = apiclient.Failure("pricing", resp, err); err != nil {
				return err
			}
			return resp.Body.Close()
		})))
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	apierrortest.AssertEnvelope(t, resp, http.StatusGatewayTimeout)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
}
