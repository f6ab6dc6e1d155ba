variable "dc2_ca_pem" {
  description = "CA certificate (PEM) that signed DC2's node certificates: /etc/pve/pve-root-ca.pem of that cluster, e.g. file(\"dc2-ca.pem\")."
  type        = string
}
