output "network" {
  description = "The tenant's network in the datacenter: allocation id, VLAN (inside service_vlan where the datacenter uses Q-in-Q), subnet, gateway, vnet."
  value = {
    id           = moxxie_network_allocation.this.id
    datacenter   = moxxie_network_allocation.this.datacenter
    vlan_id      = moxxie_network_allocation.this.vlan_id
    service_vlan = moxxie_network_allocation.this.service_vlan
    cidr         = moxxie_network_allocation.this.cidr
    gateway      = moxxie_network_allocation.this.gateway
    vnet         = moxxie_network_allocation.this.vnet
  }
}

output "vms" {
  description = "The VMs by name: moxxie id, VMID, where each runs now and its address on the network."
  value = {
    for v in moxxie_vm.this : v.name => {
      id         = v.id
      vmid       = v.vmid
      datacenter = v.current_dc
      node       = v.node
      ip         = v.network_interface[0].ip
    }
  }
}
