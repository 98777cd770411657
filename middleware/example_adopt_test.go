package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

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
// with jsonbody for bodies and apiclient for calls to other services. The
// defaults are production's: JSON lines with millisecond UTC times on
// stderr, each naming the service; a 10 s deadline on every upstream call.
func Example_adoptingInAChiService() {
	pricingURL := "http://127.0.0.1:1" // another 360X service, down today
	client := apiclient.NewClient(nil)

	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithService("settlements"))) // 1. first, so that it sees every error
	r.NotFound(middleware.NotFound)                                 // 2. the router's 404 and 405 as envelopes
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Post("/settlements", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		var in settlement
		if err := jsonbody.Decode(w, r, &in); err != nil { // 3. bodies: 415, 413, 400 naming every bad attribute
			return err
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, pricingURL+"/prices/"+in.Offer, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err = apiclient.Failure("pricing", resp, err); err != nil { // 4. calls: 502, 503, 504
			return err
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
		var env apierror.Envelope
		_ = json.Unmarshal(rec.Body.Bytes(), &env)
		fmt.Println(rec.Code, env.Message+":", env.Error)
	}
	// Output:
	// 400 Validation Error: offer: must be a string; amount: must be greater than 0
	// 503 Connection Error: The service is temporarily unavailable. Try again later.
}
