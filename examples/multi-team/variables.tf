# Set once for every workspace, e.g. as an HCL variable of a Terraform Cloud variable set. The
# API tokens stay out of it: MOXXIE_<DC>_API_TOKEN environment variables, marked sensitive.
variable "datacenters" {
  description = "The datacenters of the provider block, shared by every workspace."
  type = map(object({
    location        = optional(string)
    proxmox_url     = string
    tls_fingerprint = optional(string)
    tls_ca_pem      = optional(string)
    router_address  = optional(string)
    storage         = optional(string)
    network = optional(object({
      bridge        = optional(string)
      ip_range      = string
      vlan_range    = string
      subnet_prefix = optional(number)
      qinq_enabled  = optional(bool)
      service_vlan  = optional(number)
    }))
    limits = optional(object({
      max_vms       = optional(number)
      max_cores     = optional(number)
      max_memory_mb = optional(number)
    }))
  }))
}

variable "ssh_keys" {
  description = "Public SSH keys of the team, for the VMs' cloud-init user."
  type        = list(string)
  default     = []
}
