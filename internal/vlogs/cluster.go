package vlogs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Cluster is VictoriaLogs as a cluster on loopback, from the one binary:
// storage nodes, each a plain VictoriaLogs that keeps its share of the
// lines, and a front node started with -storageNode, which spreads the
// lines it is sent over them (by stream: a service's lines go to one
// node) and asks them all at every query. Services ship to the front
// node and traceid asks it, as they would a single node.
//
// A storage node that is down: the front node sends new lines to the
// others, and a query fails (502, naming the node) unless the front node
// runs with -search.allowPartialResponse, when it answers 200 from the
// nodes that are up, with nothing to say that the answer is partial.
type Cluster struct {
	Front   *Server
	Storage []*Server
}

// StartCluster starts storage storage nodes and a front node with their
// data under dir, each keeping lines for [Retention]; frontFlags are
// further flags for the front node (such as
// -search.allowPartialResponse).
func StartCluster(bin, dir string, storage int, frontFlags ...string) (*Cluster, error) {
	if storage < 1 {
		return nil, fmt.Errorf("vlogs: a cluster needs a storage node or more, got %d", storage)
	}
	c := &Cluster{}
	var addrs []string
	for i := range storage {
		s, err := Start(bin, filepath.Join(dir, fmt.Sprintf("storage-%d", i+1)))
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Storage = append(c.Storage, s)
		addrs = append(addrs, s.Addr)
	}
	front, err := Start(bin, filepath.Join(dir, "front"), append([]string{"-storageNode=" + strings.Join(addrs, ",")}, frontFlags...)...)
	if err != nil {
		c.Stop()
		return nil, err
	}
	c.Front = front
	return c, nil
}

// Flush makes what every storage node holds searchable at once. The front
// node sends what it is given to the storage nodes within about a second.
func (c *Cluster) Flush() error {
	var errs []error
	for _, s := range c.Storage {
		if s.running() {
			errs = append(errs, s.Flush())
		}
	}
	return errors.Join(errs...)
}

// Stop stops the front node, then the storage nodes.
func (c *Cluster) Stop() {
	if c.Front != nil {
		c.Front.Stop()
	}
	for _, s := range c.Storage {
		s.Stop()
	}
}

// StartClusterForTest is [StartCluster] for a test, in its temporary
// directory, stopped when it ends.
func StartClusterForTest(t TB, storage int, frontFlags ...string) *Cluster {
	t.Helper()
	c, err := StartCluster(BinaryForTest(t), t.TempDir(), storage, frontFlags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}
