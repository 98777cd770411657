package apierrortest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// newOfferService is the service under test.
func newOfferService(logs *apierrortest.LogCapture) *chi.Mux {
	svc := chi.NewRouter()
	svc.Use(middleware.Errors(middleware.WithLogger(logs.Logger())))
	svc.NotFound(middleware.NotFound)
	svc.MethodNotAllowed(middleware.MethodNotAllowed)
	svc.Method("GET", "/offers/{id}", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("Offer " + chi.URLParam(r, "id") + " was not found.")
	}))
	return svc
}

// testOfferService is what a service's test looks like; t is the test's
// *testing.T.
func testOfferService(t apierrortest.TestingT) {
	logs := apierrortest.NewLogCapture()
	svc := newOfferService(logs)

	// Every route's 405 and an unknown route's 404 are envelopes.
	apierrortest.Sweep(t, svc, svc)

	// An error of the service's own, and its one log line.
	resp := apierrortest.Serve(svc, httptest.NewRequest("GET", "/offers/9", nil))
	env := apierrortest.AssertEnvelope(t, resp, http.StatusNotFound)
	lines := logs.ErrorLines(env.ID)
	if len(lines) != 1 || lines[0]["level"] != "warn" {
		t.Errorf("want one warn line for %s, got %v", env.ID, lines)
	}
	fmt.Println(env.Message, "/", env.Error)
}

// printT reports failures on stdout, standing in for a *testing.T here.
type printT struct{}

func (printT) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }
func (printT) Helper()                           {}

// A service test with the kit: sweep the router, then check one error and
// its log line.
func Example() {
	testOfferService(printT{})
	// Output: Not Found / Offer 9 was not found.
}
