package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/middleware"
)

// A call made without apiclient's Transport (another HTTP client, a
// message queue): StartCall gives the call its token, sent as
// CallTokenHeader; the request's line lists it as call_tokens, and the
// called service, behind Errors, logs it as call_token. traceid follows
// the call by it, answered or not.
func ExampleStartCall() {
	pricing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("pricing received", middleware.CallTokenHeader+":", r.Header.Get(middleware.CallTokenHeader))
	}))
	defer pricing.Close()

	offers := middleware.Errors(middleware.WithLogger(zerolog.New(os.Stdout)), middleware.WithAccessLog(true),
		middleware.WithIDGenerator(func() string { return "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b" }),
		middleware.WithClock(func() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }),
		middleware.WithCallTokenGenerator(func() string { return "5f0c2a9e7b3d41c8a6e2f9b0d4c7a135" }))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, pricing.URL+"/prices/7", nil)
			req.Header.Set("X-Request-Id", middleware.ID(r.Context()))
			if token := middleware.StartCall(r.Context()); token != "" {
				req.Header.Set(middleware.CallTokenHeader, token)
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}))
	offers.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/quote", nil))
	// Output:
	// pricing received X-Call-Token: 5f0c2a9e7b3d41c8a6e2f9b0d4c7a135
	// {"level":"info","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","method":"GET","path":"/quote","status":200,"bytes":0,"duration":0,"call_tokens":["5f0c2a9e7b3d41c8a6e2f9b0d4c7a135"],"message":"request"}
}
