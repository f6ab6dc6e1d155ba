variable "dc1_url" {
  description = "API endpoint of the DC1 cluster."
  type        = string
  default     = "https://127.0.0.1:18006"
}

variable "dc1_fingerprint" {
  description = "SHA-256 fingerprint of DC1's certificate (pvenode cert info)."
  type        = string
}

variable "dc2_url" {
  description = "API endpoint of the DC2 cluster."
  type        = string
  default     = "https://127.0.0.1:18007"
}

variable "dc2_fingerprint" {
  description = "SHA-256 fingerprint of DC2's certificate."
  type        = string
}

variable "dc1_failed" {
  description = "Declare DC1 lost: protected VMs there are restored in their failover datacenter."
  type        = bool
  default     = false
}

variable "pbs_storage" {
  description = "The PBS storage in DC1 the backup job writes to."
  type        = string
  default     = "pbs"
}

variable "pbs_failover_storage" {
  description = "The PBS storage in DC2 that the PBS sync job fills with DC1's backups."
  type        = string
  default     = "pbs"
}

variable "failback" {
  description = "After a failover: \"migrate\" (home again) or \"discard_fenced\"; null does nothing."
  type        = string
  default     = null
}

variable "isolated_bridge" {
  description = "A bridge in DC2 without ports, for drills."
  type        = string
  default     = "vmbr9"
}

variable "drill_month" {
  description = "Set (e.g. \"2026-12\") to run a drill; a new value runs it again."
  type        = string
  default     = null
}
