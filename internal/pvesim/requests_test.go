package pvesim

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
)

func TestRequestCounting(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	ctx := context.Background()
	badToken := map[string]string{"Authorization": "PVEAPIToken=" + testTokenID + "=wrong"}
	s.raw(t, "GET", "/version", "", "", nil)
	s.raw(t, "GET", "/version", "", "", badToken) // refused requests count too
	if _, err := s.client.Version(ctx); err != nil {
		t.Fatal(err)
	}
	s.raw(t, "GET", "/nodes/pve1/qemu/100/config", "", "", nil)
	s.raw(t, "GET", "/nodes/pve2/qemu/101/config", "", "", nil)
	s.raw(t, "POST", "/nodes/pve1/qemu", form, "vmid=100", nil)
	s.raw(t, "GET", "/no/such/path", "", "", nil)
	s.raw(t, "DELETE", "/version", "", "", nil)
	// Outside /api2/json: counted as unknown.
	res, err := s.http.Get(s.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	want := []RequestCount{
		{Method: "DELETE", Path: UnknownPath, Count: 1},
		{Method: "GET", Path: UnknownPath, Count: 2},
		{Method: "POST", Path: "/nodes/{node}/qemu", Count: 1},
		{Method: "GET", Path: "/nodes/{node}/qemu/{vmid}/config", Count: 2},
		{Method: "GET", Path: "/version", Count: 3},
	}
	if got := c.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("Requests() =\n%+v\nwant\n%+v", got, want)
	}
	if got := c.RequestTotal(); got != 9 {
		t.Errorf("RequestTotal() = %d, want 9", got)
	}

	c.ResetRequests()
	if got := c.Requests(); len(got) != 0 || c.RequestTotal() != 0 {
		t.Fatalf("after reset: %+v, total %d", got, c.RequestTotal())
	}
	// Faulted requests are counted: the server saw them.
	c.SetFaults(Faults{Error503Rate: 1})
	for range 3 {
		if res, _, err := s.try(ctx, "GET", "/cluster/nextid", ""); err != nil || res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("faulted request: %v %v", res, err)
		}
	}
	want = []RequestCount{{Method: "GET", Path: "/cluster/nextid", Count: 3}}
	if got := c.Requests(); !reflect.DeepEqual(got, want) || c.RequestTotal() != 3 {
		t.Errorf("after faulted requests: %+v, total %d", got, c.RequestTotal())
	}
}

func TestRequestCountingConcurrent(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				path := fmt.Sprintf("/nodes/pve%d/qemu/%d/config", w%3+1, 100+i)
				if _, _, err := s.try(context.Background(), "GET", path, ""); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := []RequestCount{{Method: "GET", Path: "/nodes/{node}/qemu/{vmid}/config", Count: workers * each}}
	if got := c.Requests(); !reflect.DeepEqual(got, want) || c.RequestTotal() != workers*each {
		t.Errorf("Requests() = %+v, total %d", got, c.RequestTotal())
	}
}
