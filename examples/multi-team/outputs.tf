output "networks" {
  description = "acme's network in each datacenter."
  value       = { for m in [module.acme_dc1, module.acme_dc2] : m.network.datacenter => m.network }
}

output "vms" {
  description = "acme's VMs by name, with where they run and their addresses."
  value       = merge(module.acme_dc1.vms, module.acme_dc2.vms)
}
