package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run is a complete, passing set of results; each case below changes lines
// of it.
const run = `goos: linux
BenchmarkHappy/bare-2           1000   1000 ns/op   1712 B/op   13 allocs/op
BenchmarkHappy/bare-2           1000   1100 ns/op   1712 B/op   13 allocs/op
BenchmarkHappy/bare-2           1000   9000 ns/op   1712 B/op   13 allocs/op
BenchmarkHappy/errkit-2         1000   1700 ns/op   2600 B/op   16 allocs/op
BenchmarkHappy/chi-2            1000   2600 ns/op   3200 B/op   39 allocs/op
BenchmarkError/floor-2          1000   1100 ns/op   1760 B/op   15 allocs/op
BenchmarkError/errkit-2         1000   1700 ns/op   3000 B/op   18 allocs/op
BenchmarkError/naive-2          1000   2400 ns/op   2070 B/op   18 allocs/op
BenchmarkPanic/errkit-2         1000  12000 ns/op   5900 B/op   24 allocs/op
BenchmarkPanic/chi-2            1000  49000 ns/op  21900 B/op  191 allocs/op
BenchmarkParallel/bare          1000   1000 ns/op
BenchmarkParallel/bare-2        1000    900 ns/op
BenchmarkParallel/happy         1000   2000 ns/op
BenchmarkParallel/happy-2       1000   1880 ns/op
BenchmarkParallel/error         1000   3000 ns/op
BenchmarkParallel/error-2       1000   2500 ns/op
BenchmarkTraceID/grep-2            1   220000000 ns/op
BenchmarkTraceID/traceid-2         1   400000000 ns/op   3.3 peak-heap-MiB   1.9 cores
BenchmarkTraceID/traceid-files-2   1   300000000 ns/op   4.1 peak-heap-MiB   1.7 cores
BenchmarkThroughput/healthz     100000   40000 ns/op   25000 req/s
BenchmarkThroughput/error       100000   43000 ns/op   23000 req/s
BenchmarkThroughput/minimal-healthz 100000 38000 ns/op   26300 req/s
BenchmarkThroughput/minimal-error   100000 39000 ns/op   25600 req/s
BenchmarkDecode/flat/kit-2                 100000      4200 ns/op    40 MB/s      1560 B/op     21 allocs/op
BenchmarkDecode/flat/encoding-json-2       100000      2800 ns/op    60 MB/s       472 B/op     13 allocs/op
BenchmarkDecode/nested1000/kit-2              600    364000 ns/op    22 MB/s    129000 B/op   1037 allocs/op
BenchmarkDecode/nested1000/encoding-json-2    600    369000 ns/op    22 MB/s    119000 B/op   1028 allocs/op
BenchmarkDecode/array/kit-2                    50  26000000 ns/op    40 MB/s   4600000 B/op  21500 allocs/op
BenchmarkDecode/array/encoding-json-2          50  20000000 ns/op    52 MB/s   3600000 B/op  21470 allocs/op
BenchmarkDecode/bad/kit-2                       5 210000000 ns/op     5 MB/s  72000000 B/op 1048000 allocs/op
BenchmarkDecode/bad/encoding-json-2             5 200000000 ns/op     5.2 MB/s 63000000 B/op 524000 allocs/op
BenchmarkDecode/array64k/kit-2                800   1600000 ns/op    41 MB/s    215000 B/op   1377 allocs/op
BenchmarkDecode/bad64k/kit-2                   80  13000000 ns/op     5.1 MB/s  4400000 B/op  65700 allocs/op
BenchmarkDecode/array64k/encoding-json-2      900   1400000 ns/op    47 MB/s    200000 B/op   1300 allocs/op
BenchmarkDecode/bad64k/encoding-json-2        100  12000000 ns/op     5.5 MB/s  4000000 B/op  33000 allocs/op
`

func TestBudgets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace [2]string // a line of run and what it becomes
		missed  []string  // the budgets missed; none for none
	}{
		{name: "all met"},
		{"happy path too slow", [2]string{"1700 ns/op   2600 B/op   16", "1900 ns/op   2600 B/op   16"}, []string{"happy: (errkit - bare)"}},
		{"happy path allocates too much", [2]string{"2600 B/op   16", "2600 B/op   19"}, []string{"happy: allocs"}},
		{"error path too slow", [2]string{"1700 ns/op   3000 B/op", "1800 ns/op   3000 B/op"}, []string{"error: (errkit - floor)"}},
		{"error path allocates more than naive", [2]string{"3000 B/op   18", "3000 B/op   19"}, []string{"error: allocs"}},
		{"panic too slow", [2]string{"12000 ns/op", "17000 ns/op"}, []string{"panic:"}},
		{"parallel happy scales worse than bare", [2]string{"1880 ns/op", "1960 ns/op"}, []string{"parallel/happy"}},
		{"traceid slower than 2x grep", [2]string{"400000000 ns/op", "450000000 ns/op"}, []string{"traceid: 1 GB"}},
		{"traceid heap", [2]string{"4.1 peak-heap-MiB", "16.5 peak-heap-MiB"}, []string{"traceid: peak heap"}},
		{"traceid heap: one run of several over", [2]string{"BenchmarkTraceID/traceid-2         1   400000000 ns/op   3.3 peak-heap-MiB", "BenchmarkTraceID/traceid-2         1   400000000 ns/op   3.3 peak-heap-MiB   1.9 cores\nBenchmarkTraceID/traceid-2         1   400000000 ns/op   3.3 peak-heap-MiB   1.9 cores\nBenchmarkTraceID/traceid-2         1   400000000 ns/op   17 peak-heap-MiB"}, []string{"traceid: peak heap"}},
		{"traceid one core", [2]string{"1.7 cores", "1.1 cores"}, []string{"traceid: several files"}},
		{"throughput", [2]string{"23000 req/s", "22000 req/s"}, []string{"throughput:"}},
		{"server: the demo's error route over the minimal server's", [2]string{"43000 ns/op", "46000 ns/op"}, []string{"server/error"}},
		{"jsonbody flat", [2]string{"4200 ns/op", "5700 ns/op"}, []string{"jsonbody/flat:"}},
		{"jsonbody bad, time", [2]string{"210000000 ns/op", "810000000 ns/op"}, []string{"jsonbody/bad (1 MiB"}},
		{"jsonbody bad, memory", [2]string{"72000000 B/op", "260000000 B/op"}, []string{"jsonbody/bad: bytes"}},
		{"jsonbody not linear", [2]string{"41 MB/s", "70 MB/s"}, []string{"jsonbody/array: time per KB"}},
		{"jsonbody as linear as encoding/json", [2]string{"5.1 MB/s  4400000 B/op  65700 allocs/op\nBenchmarkDecode/array64k/encoding-json-2      900   1400000 ns/op    47 MB/s    200000 B/op   1300 allocs/op\nBenchmarkDecode/bad64k/encoding-json-2        100  12000000 ns/op     5.5 MB/s",
			"8.6 MB/s  4400000 B/op  65700 allocs/op\nBenchmarkDecode/array64k/encoding-json-2      900   1400000 ns/op    47 MB/s    200000 B/op   1300 allocs/op\nBenchmarkDecode/bad64k/encoding-json-2        100  12000000 ns/op     8.2 MB/s"}, nil},
		{"jsonbody less linear than encoding/json", [2]string{"5.1 MB/s  4400000", "8.6 MB/s  4400000"}, []string{"jsonbody/bad: time per KB"}},
		{"samples missing", [2]string{"BenchmarkError/naive-2", "# gone"}, []string{"no ns/op samples for Error/naive", "no allocs/op samples for Error/naive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := run
			if tc.replace[0] != "" {
				require.Contains(t, in, tc.replace[0])
				in = strings.Replace(in, tc.replace[0], tc.replace[1], 1)
			}
			res := results{}
			require.NoError(t, res.read(strings.NewReader(in)))
			var out bytes.Buffer
			got := check(res, &out)
			assert.Equal(t, len(tc.missed), got.missed, out.String())
			assert.Equal(t, 20-len(tc.missed), got.met, out.String())
			i := 0
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "MISSED") && i < len(tc.missed) {
					assert.Contains(t, l, tc.missed[i], "only the budgets the case breaks are missed")
					i++
				}
			}
		})
	}
}

func TestMedianPoolsCPUs(t *testing.T) {
	res := results{}
	require.NoError(t, res.read(strings.NewReader("BenchmarkX-2 1 10 ns/op\nBenchmarkX-2 1 30 ns/op\nBenchmarkX 1 20 ns/op\n")))
	m, ok := res.median("X", "ns/op")
	require.True(t, ok)
	assert.Equal(t, 20.0, m)
	m, _ = res.median("X@2", "ns/op")
	assert.Equal(t, 20.0, m)
	assert.Equal(t, 2, res.cpus("X"))
}
