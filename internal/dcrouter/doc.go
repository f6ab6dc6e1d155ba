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
// make writes idempotent (fixed VMIDs on create, config digests on update,
// treating "already exists" on a retried create as "check whether it is ours").
package dcrouter
