package apierror_test

import (
	"context"
	"time"
)

func contextWithPastDeadline() (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), time.Unix(0, 0))
}
