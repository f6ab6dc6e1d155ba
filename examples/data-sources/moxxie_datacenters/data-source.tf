# Every datacenter at once; an unreachable one shows healthy = false instead of failing the plan.
data "moxxie_datacenters" "all" {}

output "healthy_datacenters" {
  value = [for name, dc in data.moxxie_datacenters.all.datacenters : name if dc.healthy]
}

output "free_memory_mb" {
  value = { for name, dc in data.moxxie_datacenters.all.datacenters : name => dc.memory_mb.available if dc.healthy }
}
