// Package dcrouter routes every Proxmox VE API call moxxie makes to the right
// datacenter (DC). Each configured DC gets one lazily built client: a
// go-proxmox client over go-retryablehttp with moxxie's own retry policy, TLS
// settings, per-DC concurrency limit and tflog logging with secrets masked.
//
// Only the generic go-proxmox request methods are used; the typed calls in
// this package (ClusterResources, VMConfig, WaitTask, ...) decide exactly
// which API requests are made, so that e.g. one /cluster/resources call per DC
// replaces one call per VM.
//
// Retries: every method, reads and writes alike, is retried on network errors
// and HTTP 429/502/503/504 (never on 500, PVE's ordinary error status). A
// write whose response was lost may therefore reach PVE twice; callers must
// make writes idempotent: a create is checked for being ours when a retry
// finds "already exists" (the identity tag decides), and an update writes
// absolute values (cores=4, not "one more"), so applying it twice changes
// nothing more than applying it once.
//
// Outages: a DC that does not connect and complete the TLS handshake within its
// ConnectTimeout (or refuses before it ever answered) is marked unreachable for
// the life of its Client, one provider process: later calls and retries fail at
// once with an UnreachableError naming the DC, so an outage costs one timeout
// per process, not one per call.
package dcrouter
