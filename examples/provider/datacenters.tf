# Whether every declared datacenter answers, and with which Proxmox VE version and latency.
data "moxxie_datacenters" "all" {}

output "datacenter_health" {
  value = {
    for name, dc in data.moxxie_datacenters.all.datacenters : name => {
      healthy      = dc.healthy
      error        = dc.error
      pve_version  = dc.pve_version
      nodes_online = dc.nodes_online
      latency_ms   = dc.latency_ms
    }
  }
}
