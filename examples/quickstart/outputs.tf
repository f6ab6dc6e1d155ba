output "web" {
  description = "Where the web VM runs."
  value       = "${moxxie_vm.web.name}: VMID ${moxxie_vm.web.vmid} on ${moxxie_vm.web.node} in ${moxxie_vm.web.current_dc} (${moxxie_vm.web.status})"
}

output "db" {
  description = "Where the database VM runs."
  value       = "${moxxie_vm.db.name}: VMID ${moxxie_vm.db.vmid} on ${moxxie_vm.db.node} in ${moxxie_vm.db.current_dc} (${moxxie_vm.db.status})"
}

output "managed_vms" {
  description = "Every quickstart VM, by datacenter."
  value       = { for v in data.moxxie_vms.quickstart.vms : v.name => v.datacenter }
}
