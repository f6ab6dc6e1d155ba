# Every moxxie-managed web VM, wherever it runs now.
data "moxxie_vms" "web" {
  name_regex = "^web-"
  tags       = ["web"]
}

output "web_vms" {
  value = { for v in data.moxxie_vms.web.vms : v.name => "${v.datacenter}/${v.vmid}" }
}
