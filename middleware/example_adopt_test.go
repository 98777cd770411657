package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/jsonbody"
	"github.com/360x/errkit/middleware"
)

// settlement is an existing handler's model; Validate holds its rules.
type settlement struct {
	Offer  string  `json:"offer" jsonbody:"required"`
	Amount float64 `json:"amount" jsonbody:"required"`
}

func (s settlement) Validate() []apierror.Attribute {
	if s.Amount <= 0 {
		return []apierror.Attribute{apierror.Attr("amount", "must be greater than 0")}
	}
	return nil
}

// Adopting the kit in an existing chi service: mount Errors first, give
// chi the two envelope handlers, and let handlers return their errors,
// with jsonbody for bodies and apiclient for calls to other services.
func Example_adoptingInAChiService() {
	pricingURL := "http://127.0.0.1:1" // another 360X service, down today
	client := apiclient.NewClient(nil)

	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(zerolog.New(os.Stdout)),
		middleware.WithIDGenerator(func() string { return "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b" }),
		middleware.WithCallTokenGenerator(func() string { return "5f0c2a9e7b3d41c8a6e2f9b0d4c7a135" }),
		middleware.WithClock(func() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) })))
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Post("/settlements", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		var in settlement
		if err := jsonbody.Decode(w, r, &in); err != nil {
			return err // 415, 413, 400 validation_error or invalid_model
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, pricingURL+"/prices/"+in.Offer, nil)
		resp, err := client.Do(req)
		if e := apiclient.Failure("pricing", resp, err); e != nil {
			return e // 502, 503 or 504
		}
		defer resp.Body.Close()
		w.WriteHeader(http.StatusCreated)
		return nil
	}))

	for _, body := range []string{`{"offer":7,"amount":0}`, `{"offer":"7","amount":12.5}`} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/settlements", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// {"level":"warn","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","method":"POST","path":"/settlements","status":400,"code":"invalid_model","detail":"offer: must be a string; amount: must be greater than 0","bytes":219,"duration":0,"message":"Validation Error"}
	// 400 {"id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","timestamp":"2026-11-25T09:30:00.000Z","statusCode":400,"message":"Validation Error","error":"offer: must be a string; amount: must be greater than 0","path":"/settlements"}
	//
	// {"level":"error","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","method":"POST","path":"/settlements","status":503,"detail":"The service is temporarily unavailable. Try again later.","cause":"pricing: Get \"http://127.0.0.1:1/prices/7\": dial tcp 127.0.0.1:1: connect: connection refused","bytes":220,"duration":0,"call_tokens":["5f0c2a9e7b3d41c8a6e2f9b0d4c7a135"],"message":"Connection Error"}
	// 503 {"id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","timestamp":"2026-11-25T09:30:00.000Z","statusCode":503,"message":"Connection Error","error":"The service is temporarily unavailable. Try again later.","path":"/settlements"}
}
