package middleware

import (
	"context"

	"github.com/360x/errkit/apierror"
)

// Go runs fn in a new goroutine and returns a channel that receives fn's
// error (nil on success) once, when fn returns. A panic in fn, which would
// otherwise kill the whole process (no middleware can recover another
// goroutine's panic), is recovered and delivered as a 500 whose cause is a
// *PanicError carrying the value and the goroutine's stack.
//
// ctx is the request's context: fn receives it, and the panic is recorded
// on the request, so it is logged under the request's id with its stack.
// If the handler returns the delivered error, the panic is part of the
// request's error line. If the error never answers the request (the
// handler dropped it, or fn outlived the request), it is logged on a line
// of its own ("panic in a goroutine of the request"): at info level when
// another error answers the request, which has its error line already; as
// the request's error line otherwise. A handler that drops the error and
// writes nothing answers with the panic's 500.
//
// http.ErrAbortHandler is not special here: outside the serving goroutine
// there is no connection to abort.
func Go(ctx context.Context, fn func(context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				p := &PanicError{Value: v, Stack: callerStack(1)}
				if t := trackerFrom(ctx); t != nil {
					t.goroutinePanic(p)
				}
				done <- apierror.Internal(p)
			}
		}()
		done <- fn(ctx)
	}()
	return done
}
