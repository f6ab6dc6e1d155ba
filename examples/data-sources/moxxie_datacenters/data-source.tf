# Every datacenter at once; an unreachable one shows healthy = false instead of failing the plan.
data "moxxie_datacenters" "all" {}

locals {
  healthy_dcs = [for name, dc in data.moxxie_datacenters.all.datacenters : name if dc.healthy]
  # The healthy datacenter with the most free memory.
  roomiest = one([
    for name in local.healthy_dcs : name
    if data.moxxie_datacenters.all.datacenters[name].memory_mb.available == max([for n in local.healthy_dcs : data.moxxie_datacenters.all.datacenters[n].memory_mb.available]...)
  ])
}

output "healthy_datacenters" {
  value = local.healthy_dcs
}
