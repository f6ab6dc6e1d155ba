output "web" {
  description = "Where the web VM runs."
  value       = "${moxxie_vm.web.name}: VMID ${moxxie_vm.web.vmid} on ${moxxie_vm.web.node} in ${moxxie_vm.web.current_dc} (${moxxie_vm.web.status}), ${moxxie_vm.web.network_interface[0].ip} on ${moxxie_vm.web.network_interface[0].bridge}"
}

output "db" {
  description = "Where the database VM runs."
  value       = "${moxxie_vm.db.name}: VMID ${moxxie_vm.db.vmid} on ${moxxie_vm.db.node} in ${moxxie_vm.db.current_dc} (${moxxie_vm.db.status}), ${moxxie_vm.db.network_interface[0].ip} on ${moxxie_vm.db.network_interface[0].bridge}"
}

output "managed_vms" {
  description = "Every quickstart VM, by datacenter."
  value       = { for v in data.moxxie_vms.quickstart.vms : v.name => v.datacenter }
}

output "networks" {
  description = "The tenant's network in each datacenter: VLAN, Q-in-Q service VLAN, subnet."
  value = {
    for n in [moxxie_network_allocation.dc1, moxxie_network_allocation.dc2] :
    n.datacenter => "VLAN ${n.vlan_id}${n.service_vlan == null ? "" : " inside service VLAN ${n.service_vlan}"}, ${n.cidr} via ${n.gateway} (zone ${n.zone}, vnet ${n.vnet})"
  }
}
