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
