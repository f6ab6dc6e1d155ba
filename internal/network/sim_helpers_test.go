package network

import (
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// simClient serves cluster over plain HTTP for the test's lifetime and returns a client of it
// with root's token; opts come after the test's fast task polling (e.g. WithRetry).
func simClient(t *testing.T, cluster *pvesim.Cluster, opts ...dcrouter.Option) *dcrouter.Client {
	t.Helper()
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	r, err := dcrouter.New([]dcrouter.Config{{Name: cluster.Name(), URL: srv.URL, TokenID: "root@pam!tok", TokenSecret: "s"}},
		append([]dcrouter.Option{dcrouter.WithTaskPoll(time.Millisecond, 10*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Client(cluster.Name())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
