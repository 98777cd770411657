package apiclient_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// A handler calls another 360X service; whatever goes wrong, one call to
// Failure gives the contract's answer: here the pricing service's 404
// envelope becomes this service's 502, whose cause names the upstream.
func ExampleFailure() {
	pricing := httptest.NewServer(middleware.Errors()(middleware.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) error {
			return apierror.NotFound("Product bolt has no price.")
		})))
	defer pricing.Close()

	client := apiclient.NewClient(nil)
	quote := func(r *http.Request) error {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, pricing.URL+"/prices/bolt", nil)
		resp, err := client.Do(req)
		if err = apiclient.Failure("pricing", resp, err); err != nil {
			return err // 502, 503 or 504, or the client-gone rule
		}
		defer resp.Body.Close()
		return nil // decode resp.Body
	}

	e := apierror.From(quote(httptest.NewRequest(http.MethodGet, "/quote", nil)))
	upstream, _ := errors.AsType[*apierror.Error](e.Cause)
	fmt.Println(e.Status, upstream.Status, upstream.Detail, upstream.Received.Path)
	// Output: 502 404 Product bolt has no price. /prices/bolt
}
