package provider

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// External mode: the acceptance tests run against existing clusters instead of in-process
// simulators. The environment names them (CONTRIBUTING.md, "Acceptance tests against existing
// clusters"):
//
//	MOXXIE_ACC_DATACENTERS="DC1,DC2,DC3"       the datacenters, by the names the tests use
//	MOXXIE_ACC_<DC>_URL                        e.g. https://pve-a.example:8006
//	MOXXIE_ACC_<DC>_API_TOKEN                  USER@REALM!TOKENID=SECRET, the provider's token
//	MOXXIE_ACC_<DC>_ADMIN_API_TOKEN            optional: the tests' own setup and checks (default:
//	                                           API_TOKEN)
//	MOXXIE_ACC_<DC>_FINGERPRINT                SHA-256 of the leaf certificate, or
//	MOXXIE_ACC_<DC>_CA_FILE                    a PEM file with the CA that signs it

const accDatacentersEnv = "MOXXIE_ACC_DATACENTERS"

func externalMode() bool { return os.Getenv(accDatacentersEnv) != "" }

// externalEndpoints reads every datacenter the environment declares.
func externalEndpoints() (map[string]accEndpoint, error) {
	out := map[string]accEndpoint{}
	for _, name := range strings.Split(os.Getenv(accDatacentersEnv), ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		ep, err := externalEndpoint(name)
		if err != nil {
			return nil, err
		}
		out[name] = ep
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no datacenter", accDatacentersEnv)
	}
	return out, nil
}

func externalEndpoint(dc string) (accEndpoint, error) {
	v := func(key string) string { return os.Getenv("MOXXIE_ACC_" + dc + "_" + key) }
	ep := accEndpoint{URL: v("URL"), Fingerprint: v("FINGERPRINT")}
	if ep.URL == "" {
		return ep, fmt.Errorf("MOXXIE_ACC_%s_URL is not set", dc)
	}
	id, secret, ok := strings.Cut(v("API_TOKEN"), "=")
	if !ok || !strings.Contains(id, "!") || secret == "" {
		return ep, fmt.Errorf("MOXXIE_ACC_%s_API_TOKEN must be USER@REALM!TOKENID=SECRET", dc)
	}
	ep.TokenID, ep.TokenSecret = id, secret
	ep.AdminTokenID, ep.AdminTokenSecret = id, secret
	if a := v("ADMIN_API_TOKEN"); a != "" {
		aid, asecret, ok := strings.Cut(a, "=")
		if !ok || !strings.Contains(aid, "!") || asecret == "" {
			return ep, fmt.Errorf("MOXXIE_ACC_%s_ADMIN_API_TOKEN must be USER@REALM!TOKENID=SECRET", dc)
		}
		ep.AdminTokenID, ep.AdminTokenSecret = aid, asecret
	}
	if f := v("CA_FILE"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return ep, fmt.Errorf("MOXXIE_ACC_%s_CA_FILE: %w", dc, err)
		}
		ep.CAPEM = string(pem)
	}
	if (ep.Fingerprint == "") == (ep.CAPEM == "") {
		return ep, fmt.Errorf("set exactly one of MOXXIE_ACC_%s_FINGERPRINT and MOXXIE_ACC_%s_CA_FILE", dc, dc)
	}
	return ep, nil
}

// externalEnv is newSimEnv in external mode: the declared clusters of the names dcs asks for.
func externalEnv(t testing.TB, dcs []simDC) *simEnv {
	t.Helper()
	all, err := externalEndpoints()
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{t: t, endpoints: map[string]accEndpoint{}, external: true}
	for _, dc := range dcs {
		if dc.nodes != nil || dc.version != "" {
			t.Skipf("needs datacenter %s with a node layout or PVE version of its own (in-process simulator only); skipped against external endpoints", dc.name)
		}
		ep, ok := all[dc.name]
		if !ok {
			t.Skipf("needs datacenter %s, which %s does not declare", dc.name, accDatacentersEnv)
		}
		e.endpoints[dc.name] = ep
	}
	return e
}
