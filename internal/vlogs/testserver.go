package vlogs

import "os"

// TB is the part of testing.TB that StartForTest uses.
type TB interface {
	Helper()
	Fatal(args ...any)
	Skip(args ...any)
	TempDir() string
	Cleanup(func())
}

// StartForTest starts a real VictoriaLogs on loopback for a test, keeping
// lines for [Retention], stopped when the test ends; extra are further
// flags. make test installs the binary and sets
// ERRKIT_REQUIRE_VICTORIALOGS, so that a missing binary fails the test
// there; elsewhere it skips it.
func StartForTest(t TB, extra ...string) *Server {
	t.Helper()
	srv, err := Start(BinaryForTest(t), t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// BinaryForTest returns [Binary], or fails or skips the test as
// [StartForTest] does when there is none.
func BinaryForTest(t TB) string {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("ERRKIT_REQUIRE_VICTORIALOGS") != "" {
			t.Fatal("victoria-logs is not installed; make test installs " + Module)
		}
		t.Skip("victoria-logs is not installed; make test installs " + Module)
	}
	return bin
}
