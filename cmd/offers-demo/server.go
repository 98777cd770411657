package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/rs/zerolog"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/jsonbody"
	"github.com/360x/errkit/middleware"
)

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

var currencies = []string{"EUR", "GBP", "USD"}

// app holds what the handlers need.
type app struct {
	store        *store
	tokens       map[string]string
	pricingURL   string
	fxURL        string
	quoteTimeout time.Duration
	client       *http.Client
	now          func() time.Time
	// observe, when set, sees every error response (the demo counts
	// them by status for its debug endpoint).
	observe func(middleware.ErrorEvent)
}

type participantKey struct{}

func participant(r *http.Request) string {
	p, _ := r.Context().Value(participantKey{}).(string)
	return p
}

// routes returns the demo's router: the error middleware first, the router
// helpers, then authentication and the per-token rate limit in front of
// every /api/v1 route.
func (a *app) routes(logger zerolog.Logger, limit rateLimit) http.Handler {
	r := chi.NewRouter()
	opts := []middleware.Option{middleware.WithLogger(logger), middleware.WithService("offers"), middleware.WithAccessLog(true)}
	if a.observe != nil {
		opts = append(opts, middleware.WithObserver(a.observe))
	}
	r.Use(middleware.Errors(opts...))
	r.Use(chimw.GetHead) // HEAD is served by the GET routes
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)

	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(a.authenticate)
		r.Use(httprate.LimitBy(limit.requests, limit.window, func(r *http.Request) (string, error) {
			return bearerToken(r), nil // per token; authenticate has admitted it
		}))
		r.Route("/participant/offers", func(r chi.Router) {
			r.Get("/", middleware.Handle(a.listOffers))
			r.Post("/", middleware.Handle(a.createOffer))
			r.Get("/{id}", middleware.Handle(a.getOffer))
			r.Delete("/{id}", middleware.Handle(a.deleteOffer))
			r.Get("/{id}/quote", middleware.Handle(a.quote))
		})
		// A route that panics, to show what a crash looks like.
		r.Get("/debug/panic", func(w http.ResponseWriter, r *http.Request) {
			var offers map[string]*offer
			fmt.Fprint(w, offers["none"].Product) // nil pointer dereference
		})
	})
	return r
}

// authenticate admits requests that carry one of the configured bearer
// tokens; it runs before routing and validation, so a request without a
// valid token learns nothing else.
func (a *app) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, known := a.tokens[bearerToken(r)]
		if !known {
			middleware.WriteError(w, r, apierror.InvalidToken())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), participantKey{}, p)))
	})
}

// bearerToken returns the token of an "Authorization: Bearer …" header, or
// "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// pageSize is the most offers one GET of the list returns: a page stays
// under about 25 KB, so a client that reads slowly holds little memory.
const pageSize = 100

// listOffers returns a page of offers in id order: ?after=ID continues
// after that id, ?limit=N (1 to 100, default 100) sets the page's size, and
// a Link header with rel="next" points to the next page when there is one.
func (a *app) listOffers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := pageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > pageSize {
			return apierror.Validation("Query parameter limit must be a whole number from 1 to " + strconv.Itoa(pageSize) + ".")
		}
		limit = n
	}
	page, more := a.store.list(q.Get("after"), limit)
	if more {
		next := url.Values{"after": {page[len(page)-1].ID}, "limit": {strconv.Itoa(limit)}}
		w.Header().Set("Link", "</api/v1/participant/offers?"+next.Encode()+`>; rel="next"`)
	}
	return writeJSON(w, http.StatusOK, page)
}

func (a *app) getOffer(w http.ResponseWriter, r *http.Request) error {
	o, err := a.find(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

func (a *app) find(r *http.Request) (offer, error) {
	id := chi.URLParam(r, "id")
	o, ok := a.store.get(id)
	if !ok {
		return offer{}, apierror.NotFound(fmt.Sprintf("Offer %q was not found.", id))
	}
	return o, nil
}

func (a *app) deleteOffer(w http.ResponseWriter, r *http.Request) error {
	o, err := a.find(r)
	if err != nil {
		return err
	}
	if o.Participant != participant(r) {
		return apierror.Forbidden("Offer " + o.ID + " belongs to another participant.")
	}
	a.store.delete(o.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// offerInput is the body of POST /participant/offers: jsonbody checks the
// types and the required attributes, Validate the domain rules.
type offerInput struct {
	Product  string  `json:"product" jsonbody:"required"`
	Price    float64 `json:"price" jsonbody:"required"`
	Currency string  `json:"currency" jsonbody:"required"`
	Quantity int     `json:"quantity" jsonbody:"required"`
}

// Validate names every attribute that breaks a rule of the offers API.
func (in offerInput) Validate() []apierror.Attribute {
	var bad []apierror.Attribute
	if strings.TrimSpace(in.Product) == "" || utf8.RuneCountInString(in.Product) > 100 {
		bad = append(bad, apierror.Attr("product", "must be 1 to 100 characters"))
	}
	if in.Price <= 0 {
		bad = append(bad, apierror.Attr("price", "must be greater than 0"))
	}
	if !slices.Contains(currencies, in.Currency) {
		bad = append(bad, apierror.Attr("currency", "must be one of "+strings.Join(currencies, ", ")))
	}
	if in.Quantity < 1 {
		bad = append(bad, apierror.Attr("quantity", "must be at least 1"))
	}
	return bad
}

func (a *app) createOffer(w http.ResponseWriter, r *http.Request) error {
	var in offerInput
	if err := jsonbody.Decode(w, r, &in, jsonbody.WithLimit(maxBody)); err != nil {
		return err
	}
	o, err := a.store.add(offer{
		Participant: participant(r), Product: in.Product, Price: in.Price,
		Currency: in.Currency, Quantity: in.Quantity, CreatedAt: a.now().UTC(),
	})
	if err != nil {
		return apierror.New(http.StatusInsufficientStorage, "").WithCause(err)
	}
	w.Header().Set("Location", "/api/v1/participant/offers/"+o.ID)
	return writeJSON(w, http.StatusCreated, o)
}

// quote asks the pricing service for the offer's product and, when another
// currency is asked for, the currency-conversion service for the rate.
func (a *app) quote(w http.ResponseWriter, r *http.Request) error {
	o, err := a.find(r)
	if err != nil {
		return err
	}
	// A handler's own line: the request's logger carries its id (and the
	// trace's, with OpenTelemetry in front).
	zerolog.Ctx(r.Context()).Info().Str("offer", o.ID).Str("product", o.Product).Msg("quote requested")
	ctx, cancel := context.WithTimeout(r.Context(), a.quoteTimeout)
	defer cancel()

	var price struct {
		UnitPrice float64 `json:"unitPrice"`
	}
	if err := a.call(ctx, "pricing", a.pricingURL+"/prices/"+url.PathEscape(o.Product), &price); err != nil {
		return err
	}
	currency, rate := o.Currency, 1.0
	if want := r.URL.Query().Get("currency"); want != "" && want != o.Currency {
		if !slices.Contains(currencies, want) {
			return apierror.Validation("Query parameter currency must be one of " + strings.Join(currencies, ", ") + ".")
		}
		var fx struct {
			Rate float64 `json:"rate"`
		}
		if err := a.call(ctx, "fx", a.fxURL+"/rates?from="+o.Currency+"&to="+want, &fx); err != nil {
			return err
		}
		currency, rate = want, fx.Rate
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"offerId":   o.ID,
		"quantity":  o.Quantity,
		"unitPrice": price.UnitPrice * rate,
		"total":     price.UnitPrice * rate * float64(o.Quantity),
		"currency":  currency,
	})
}

// call GETs url from another service through an apiclient.Transport (so
// the request's id and trace go along) and decodes its JSON answer into v;
// apiclient.Failure maps every failure to the contract (an error answer →
// 502, not reachable → 503, too slow → 504, canceled → the client-gone
// rule).
func (a *app) call(ctx context.Context, service, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s: building the request: %w", service, err)
	}
	resp, err := a.client.Do(req)
	if err = apiclient.Failure(service, resp, err); err != nil {
		if e := apierror.From(err); e.Status == http.StatusServiceUnavailable && e.Header.Get("Retry-After") == "" {
			return e.WithRetryAfter(30 * time.Second) // the demo's services restart within that
		}
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v); err != nil {
		return apiclient.Failure(service, nil, fmt.Errorf("decoding the answer: %w", err))
	}
	return nil
}
