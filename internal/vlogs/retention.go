package vlogs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Setting is how long a VictoriaLogs store keeps its lines, as it says
// itself.
type Setting struct {
	Period time.Duration
	// Flag is the setting as the store states it, for example
	// "-retentionPeriod=30d", and for a cluster the node it comes from.
	Flag string
}

// flagLine is a line of VictoriaLogs' /metrics that states one of its
// flags, defaults included:
//
//	flag{name="retentionPeriod", value="30d", is_set="true"} 1
var flagLine = regexp.MustCompile(`^flag\{name="([^"]*)", value="([^"]*)"`)

// ReadRetention asks the VictoriaLogs server at base for its
// -retentionPeriod (its /metrics page lists every flag's value, defaults
// included: VictoriaLogs keeps 7 days unless told). A cluster's front node
// (one with -storageNode) keeps nothing itself: the storage nodes it names
// are asked in turn, and the shortest of their retentions is the store's.
// An error says why the retention could not be read.
func ReadRetention(ctx context.Context, client *http.Client, base string) (Setting, error) {
	flags, err := storeFlags(ctx, client, base)
	if err != nil {
		return Setting{}, err
	}
	if nodes := strings.TrimSpace(flags["storageNode"]); nodes != "" {
		var shortest Setting
		for _, node := range strings.Split(nodes, ",") {
			node = strings.TrimSpace(node)
			u := node
			if !strings.Contains(u, "://") {
				u = "http://" + u
			}
			nf, err := storeFlags(ctx, client, u)
			if err != nil {
				return Setting{}, fmt.Errorf("storage node %s of the cluster: %w", node, err)
			}
			r, err := retentionOf(nf)
			if err != nil {
				return Setting{}, fmt.Errorf("storage node %s of the cluster: %w", node, err)
			}
			if shortest.Flag == "" || r.Period < shortest.Period {
				shortest = Setting{Period: r.Period, Flag: r.Flag + " on storage node " + node}
			}
		}
		return shortest, nil
	}
	return retentionOf(flags)
}

func retentionOf(flags map[string]string) (Setting, error) {
	v, ok := flags["retentionPeriod"]
	if !ok {
		return Setting{}, errors.New("its /metrics page names no retentionPeriod flag")
	}
	d, err := ParseRetention(v)
	if err != nil {
		return Setting{}, fmt.Errorf("its -retentionPeriod %q: %w", v, err)
	}
	return Setting{Period: d, Flag: "-retentionPeriod=" + v}, nil
}

// storeFlags reads the flags a VictoriaLogs server states on /metrics.
func storeFlags(ctx context.Context, client *http.Client, base string) (map[string]string, error) {
	u, err := parseBase(base)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath("/metrics").String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("its /metrics answered %s", resp.Status)
	}
	flags := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := flagLine.FindSubmatch(sc.Bytes()); m != nil {
			flags[string(m[1])] = string(m[2])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return flags, nil
}

// vmUnits are the suffixes of a VictoriaMetrics duration flag such as
// -retentionPeriod; a number without one counts months (31 days, as
// VictoriaMetrics counts them).
var vmUnits = map[string]time.Duration{
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "M": 31 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
}

var vmPart = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w|M|y)`)

// ParseRetention parses a VictoriaMetrics duration as -retentionPeriod
// takes it: "30d", "1y", "2w3d", "12h", or a plain number of months ("1").
func ParseRetention(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
		return time.Duration(f * float64(vmUnits["M"])), nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		m := vmPart.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a duration such as 30d", s)
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		total += time.Duration(f * float64(vmUnits[m[2]]))
		rest = rest[len(m[0]):]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not a duration above 0", s)
	}
	return total, nil
}
