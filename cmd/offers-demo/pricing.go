package main

import (
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// pricingDelay is how long the embedded pricing service takes for the
// "bulk" product: longer than the default quote timeout.
const pricingDelay = 2 * time.Second

// pricingHandler is the embedded pricing service: another 360X service,
// with the same middleware, that knows the unit price of each product.
// "discontinued" has none (a 404 envelope), "bulk" is slow.
func pricingHandler(logger zerolog.Logger) http.Handler {
	prices := map[string]float64{"widget": 11.9, "gadget": 39.5, "bulk": 0.2}
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(logger), middleware.WithService("pricing"), middleware.WithAccessLog(true)))
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Method(http.MethodGet, "/prices/{product}", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		product := chi.URLParam(r, "product")
		if product == "bulk" {
			select {
			case <-time.After(pricingDelay):
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}
		price, ok := prices[product]
		if !ok {
			return apierror.NotFound("Product " + product + " has no price.")
		}
		return writeJSON(w, http.StatusOK, map[string]any{"product": product, "unitPrice": price})
	}))
	return r
}

// startPricing serves the pricing service on a free loopback port and
// returns its base URL and its server, for the shutdown.
func startPricing(logger zerolog.Logger) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: otelhttp.NewHandler(pricingHandler(logger), "pricing"), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}
