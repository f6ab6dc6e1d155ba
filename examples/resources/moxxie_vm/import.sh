# A VM is imported by datacenter and VMID.
terraform import moxxie_vm.app DC1/105
