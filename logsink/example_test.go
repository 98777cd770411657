package logsink_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/360x/errkit/logsink"
	"github.com/360x/errkit/middleware"
)

// A log that cannot hold up answers: the middleware's logger writes to a
// logsink, which a blocked, slow or failing destination costs counted
// lines, never an answer.
func ExampleNew() {
	sink := logsink.New(os.Stdout, logsink.WithErrorReport(os.Stderr))
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(middleware.NewLogger(sink)), middleware.WithService("offers")))

	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = sink.Close(shutdownCtx) // at shutdown: writes what is buffered, gives up at the deadline
	fmt.Println(sink.Stats().Lost())
	// Output: 0
}
