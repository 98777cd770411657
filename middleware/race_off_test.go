//go:build !race

package middleware_test

// raceEnabled says whether the tests run with -race, which allocates on
// its own account.
const raceEnabled = false
