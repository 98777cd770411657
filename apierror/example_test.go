package apierror_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/360x/errkit/apierror"
)

// exampleRenderer stamps a fixed id and time so the output is stable.
func exampleRenderer() *apierror.Renderer {
	return apierror.NewRenderer(
		apierror.WithClock(func() time.Time { return time.Date(2011, 10, 5, 14, 48, 0, 0, time.UTC) }),
		apierror.WithIDGenerator(func() string { return "93aa74d5-8caf-473f-af2f-42cf806ddfdc" }),
	)
}

func ExampleNotFound() {
	err := apierror.NotFound("Offer 42 was not found.")
	fmt.Println(err.Status, err.Message)
	fmt.Println(err)
	// Output:
	// 404 Not Found
	// 404 Not Found: Offer 42 was not found.
}

func ExampleInvalidModel() {
	err := apierror.InvalidModel(
		apierror.Attr("price", "must be greater than 0"),
		apierror.Attr("currency", "must be one of EUR, GBP, USD"),
	)
	fmt.Println(err.Code)
	fmt.Println(err.Detail)
	// Output:
	// invalid_model
	// price: must be greater than 0; currency: must be one of EUR, GBP, USD
}

func ExampleTooManyRequests() {
	err := apierror.TooManyRequests(30 * time.Second)
	fmt.Println(err.Header.Get("Retry-After"), err.Detail)
	// Output: 30 Rate limit exceeded. Retry after 30 seconds.
}

func ExampleInternal() {
	// The cause is kept for the log and errors.Is, never sent.
	errDB := errors.New("pq: connection refused")
	err := fmt.Errorf("loading offers: %w", apierror.Internal(errDB))
	fmt.Println(errors.Is(err, errDB), apierror.From(err).Status)
	// Output: true 500
}

func ExampleFrom() {
	fmt.Println(apierror.From(fmt.Errorf("quote: %w", apierror.NotFound("no such offer"))).Status)
	fmt.Println(apierror.From(fmt.Errorf("query: %w", errDeadline())).Status)
	fmt.Println(apierror.From(errors.New("anything else")).Message)
	// Output:
	// 404
	// 504
	// Generic Error
}

func errDeadline() error {
	ctx, cancel := contextWithPastDeadline()
	defer cancel()
	return ctx.Err()
}

func ExampleRenderer_Write() {
	r := exampleRenderer()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/participant/offers?page=2", nil)
	r.Write(rec, req, apierror.InvalidToken())

	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Print(rec.Body.String())
	// Output:
	// 401 Bearer error="invalid_token"
	// {"id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","timestamp":"2011-10-05T14:48:00.000Z","statusCode":401,"message":"Invalid Token","error":"Token is invalid","path":"/api/v1/participant/offers"}
}

func ExampleReadResponse() {
	resp := &http.Response{
		StatusCode: 503,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"id":"0191e0b4-5c1a-7cc0-8f1e-2f4c3f7a9d10","timestamp":"2026-11-25T10:00:00.000Z",` +
			`"statusCode":"503","message":"Connection Error","error":"Try again later.","path":"/quote"}`)),
	}
	upstream, err := apierror.ReadResponse(resp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(upstream.Status, upstream.Received.ID, upstream.Received.Path)

	// A handler answers for the upstream failure with its own 502.
	fmt.Println(apierror.BadGateway(upstream).Status)
	// Output:
	// 503 0191e0b4-5c1a-7cc0-8f1e-2f4c3f7a9d10 /quote
	// 502
}
