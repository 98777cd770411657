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

// A handler calls another 360X service and answers for its failure with a
// 502 whose cause is the upstream's envelope.
func ExampleTransport() {
	pricing := httptest.NewServer(middleware.Errors()(middleware.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) error {
			return apierror.NotFound("Product bolt has no price.")
		})))
	defer pricing.Close()

	client := &http.Client{Transport: &apiclient.Transport{}}
	quote := func(r *http.Request) error {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, pricing.URL+"/prices/bolt", nil)
		resp, err := client.Do(req)
		if upstream, ok := errors.AsType[*apierror.Error](err); ok {
			return apierror.BadGateway(fmt.Errorf("pricing answered %d: %w", upstream.Status, err))
		}
		if err != nil {
			return apierror.ServiceUnavailable(err)
		}
		return resp.Body.Close()
	}

	err := quote(httptest.NewRequest(http.MethodGet, "/quote", nil))
	e := apierror.From(err)
	upstream, _ := errors.AsType[*apierror.Error](e.Cause)
	fmt.Println(e.Status, upstream.Status, upstream.Detail, upstream.Received.Path)
	// Output: 502 404 Product bolt has no price. /prices/bolt
}
