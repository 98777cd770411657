package errkit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

func Example() {
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithService("offers"))) // first: it sees every error
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Get("/offers/{id}", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("Offer " + chi.URLParam(r, "id") + " was not found.")
	}))

	srv := httptest.NewServer(r) // a service: http.ListenAndServe(":8080", r)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/offers/7")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Output: 404 Not Found application/json; charset=utf-8
}
