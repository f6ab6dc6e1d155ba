variable "datacenter" {
  description = "Datacenter (a key of the provider's datacenters) that hands out the network and runs the VMs."
  type        = string
}

variable "tenant" {
  description = "Tenant the network belongs to: its client_id, a tag on every VM and, by default, the start of the VM names."
  type        = string

  validation {
    # A DNS label, so that it is also a valid client_id, PVE tag and VM name part.
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.tenant))
    error_message = "tenant must be lower-case letters, digits and inner '-', at most 63 characters."
  }
}

variable "network_name" {
  description = "Name of the network within the tenant; a tenant can hold several networks per datacenter."
  type        = string
  default     = "default"
}

variable "prefix_length" {
  description = "Size of the subnet; null takes the datacenter's subnet_prefix."
  type        = number
  default     = null
}

variable "vlan_id" {
  description = "A VLAN of the datacenter's vlan_range to ask for; null takes the next free one."
  type        = number
  default     = null
}

variable "vm_count" {
  description = "How many VMs to place on the network."
  type        = number
  default     = 1

  validation {
    condition     = var.vm_count >= 0 && floor(var.vm_count) == var.vm_count
    error_message = "vm_count must be a whole number, 0 or more."
  }
}

variable "name_prefix" {
  description = "VM names are <name_prefix>-1, -2, ...; null means <tenant>-<datacenter>. Keep names unique across workspaces: moxxie's plan-time checks know VMs by name."
  type        = string
  default     = null
}

variable "cores" {
  description = "vCPU cores per VM."
  type        = number
  default     = 2
}

variable "memory_mb" {
  description = "Memory per VM in MiB."
  type        = number
  default     = 2048
}

variable "disk_gb" {
  description = "Size of each VM's boot disk scsi0 in GiB; null keeps a template's disks as they are."
  type        = number
  default     = 20
}

variable "template" {
  description = "Name of a template to clone, looked up in the datacenter itself; null creates empty VMs."
  type        = string
  default     = null
}

variable "user" {
  description = "Default cloud-init user."
  type        = string
  default     = null
}

variable "ssh_keys" {
  description = "Public SSH keys for the cloud-init user."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra PVE tags for every VM (lower-case letters, digits, _+.-)."
  type        = list(string)
  default     = []
}
