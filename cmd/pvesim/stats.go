package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// datacenter is one served cluster under its name.
type datacenter struct {
	name    string
	cluster *pvesim.Cluster
}

type dcStats struct {
	Requests []pvesim.RequestCount `json:"requests"`
	Total    int64                 `json:"total"`
	Faults   pvesim.FaultCounts    `json:"faults"` // how often each injected fault fired
}

// statsHandler serves GET /stats, and GET and POST /faults (?dc=NAME picks
// one datacenter; without it, every one) for people exploring failure
// modes by hand.
func statsHandler(dcs []datacenter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]dcStats{}
		for _, dc := range dcs {
			out[dc.name] = dcStats{Requests: dc.cluster.Requests(), Total: dc.cluster.RequestTotal(), Faults: dc.cluster.FaultCounts()}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		sel, ok := selectDCs(w, r, dcs)
		if !ok {
			return
		}
		writeJSON(w, http.StatusOK, faultsOf(sel))
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		sel, ok := selectDCs(w, r, dcs)
		if !ok {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		// Check every datacenter before changing any, so a bad body
		// leaves all of them as they were.
		next := make([]pvesim.Faults, len(sel))
		for i, dc := range sel {
			if next[i], err = mergeFaults(dc.cluster.Faults(), body); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
		}
		for i, dc := range sel {
			dc.cluster.SetFaults(next[i])
		}
		writeJSON(w, http.StatusOK, faultsOf(sel))
	})
	return mux
}

func selectDCs(w http.ResponseWriter, r *http.Request, dcs []datacenter) ([]datacenter, bool) {
	name := r.URL.Query().Get("dc")
	if name == "" {
		return dcs, true
	}
	for _, dc := range dcs {
		if dc.name == name {
			return []datacenter{dc}, true
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no datacenter %q", name)})
	return nil, false
}

func faultsOf(dcs []datacenter) map[string]faultsDoc {
	out := map[string]faultsDoc{}
	for _, dc := range dcs {
		out[dc.name] = docOf(dc.cluster.Faults())
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// printSummary writes each datacenter's request counts, for the end of a
// manual session.
func printSummary(w io.Writer, dcs []datacenter) {
	for _, dc := range dcs {
		fmt.Fprintf(w, "%s: %d requests\n", dc.name, dc.cluster.RequestTotal())
		for _, rc := range dc.cluster.Requests() {
			fmt.Fprintf(w, "  %8d  %-6s  %s\n", rc.Count, rc.Method, rc.Path)
		}
	}
}
